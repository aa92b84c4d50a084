// Package mounttest runs a test in a Linux mount namespace of its own, so
// that the tmpfs and bind mounts it makes (a full disk, a read-only state
// directory, a private /run) are never seen by the host.
//
// Private re-executes the test under "unshare --mount --propagation
// private"; Mount, Tmpfs and Bind refuse to mount anywhere else, and undo
// their mounts when the test ends. Tests that cannot have a namespace are
// skipped with the reason: they need root and unshare (util-linux).
package mounttest
