// Package netnstest gives tests throw-away Linux network namespaces, so that
// firewall and packet tests never touch the host's own network.
//
// Every namespace is named peerjail-test-<random>, is deleted by t.Cleanup
// (also when the test fails), and tests that cannot create one are skipped
// with the reason: they need root, iproute2 and a kernel with network
// namespaces.
package netnstest
