//go:build !unix

package source

import "os"

func stdinFile() *os.File { return os.Stdin }
