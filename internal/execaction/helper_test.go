package execaction_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// helperArg, as the first argument, makes the test binary the program the
// tests run (it cannot be told by the environment: the action passes the
// program none of the test's own).
const helperArg = "peerjail-exec-helper"

func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == helperArg {
		// syscall.Exit, not os.Exit: a -race binary's os.Exit waits a
		// second for reports, which every run would pay.
		syscall.Exit(helper(os.Args[2:]))
	}
	os.Exit(m.Run())
}

// record is what the "record" helper writes: its arguments and environment.
type record struct {
	Args []string
	Env  []string
}

// helper is the program: its first argument says what it does.
func helper(args []string) int {
	switch args[0] {
	case "record": // record FILE ARGS...: write ARGS and the environment to FILE
		b, _ := json.Marshal(record{Args: args[2:], Env: os.Environ()})
		if err := os.WriteFile(args[1], b, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return 0
	case "fail": // fail CODE: 300 bytes of stderr, then exit CODE
		code, _ := strconv.Atoi(args[1])
		fmt.Fprint(os.Stderr, strings.Repeat("x", 293)+"the end")
		return code
	case "exit-if": // exit-if BAD KEY: exit 5 if KEY is BAD
		if args[1] == args[2] {
			return 5
		}
		return 0
	case "hang": // hang FILE: start a child that hangs too, write both pids to FILE, hang
		self, _ := os.Executable()
		child := exec.Command(self, helperArg, "hang-child")
		if err := child.Start(); err != nil {
			return 1
		}
		_ = os.WriteFile(args[1], fmt.Appendf(nil, "%d %d", os.Getpid(), child.Process.Pid), 0o644)
		select {}
	case "hang-child":
		select {}
	case "overlap": // overlap SOCKET: connect, wait until the test closes the connection
		c, err := net.Dial("unix", args[1])
		if err != nil {
			return 1
		}
		_, _ = bufio.NewReader(c).ReadString('\n')
		return 0
	}
	return 2
}
