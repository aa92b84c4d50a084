package main

import "fmt"

// Nano node lines (nanocurrency/nano-node), printed from the fmt format
// strings of the cited call sites ("{}" printed as %s):
//
//	nano/lib/logging.cpp@147a375: spdlog's default pattern for the daemon,
//	  "[%Y-%m-%d %H:%M:%S.%e] [%n] [%l] %v", %n the log type ("tcp_server").
//	nano/node/transport/tcp_server.cpp@94bcdd5 (V25 era):
//	  "Error reading message: {}, status: {} ({})"  ec.message(), status, nano::util::to_str(remote_endpoint)
//	  "Error deserializing message: {} ({})"        status, remote endpoint
//	  "Rejected connection from excluded peer: {}"  remote endpoint (logged by tcp_listener::accept_action)
//	nano/node/transport/tcp_listener.cpp@1cf1cd7 (V27 era):
//	  "Rejected connection from excluded peer: {}"  ip.to_string()
//	  "Max connections per IP reached ({}), unable to open new connection: {}"  count, ip.to_string()
//	  "Accepted connection: {} ({})"                 endpoint, connection type
//
// A boost TCP endpoint prints as "[v6]:port"; the node listens on IPv6, so
// IPv4 peers appear v4-mapped ("[::ffff:198.51.100.20]:7075", "::ffff:...").
func nano() *logfile {
	f := &logfile{name: "nano"}
	logf := func(logger, level, format string, a ...any) {
		f.add(fmt.Sprintf("[%s] [%s] [%s] ", f.now().Format("2006-01-02 15:04:05.000"), logger, level) + fmt.Sprintf(format, a...))
	}
	logf("tcp_server", "debug", "Starting TCP server (%s)", "[::ffff:198.51.100.20]:7075")
	logf("tcp_server", "debug", "Error deserializing message: %s (%s)", "invalid_header", "[::ffff:198.51.100.20]:7075")
	logf("tcp_server", "debug", "Error deserializing message: %s (%s)", "duplicate_confirm_ack_message", "[::ffff:198.51.100.26]:7075")
	logf("tcp_server", "debug", "Error reading message: %s, status: %s (%s)", "End of file", "invalid_message_type", "[::ffff:198.51.100.21]:7075")
	logf("tcp_server", "debug", "Error reading message: %s, status: %s (%s)", "Operation canceled", "success", "[::ffff:198.51.100.27]:7075")
	logf("tcp_server", "debug", "Error deserializing message: %s (%s)", "invalid_network", "[2001:db8::20]:7075")
	logf("tcp_server", "debug", "Error deserializing message: %s (%s)", "outdated_version", "[::ffff:198.51.100.28]:7075")
	logf("tcp_server", "debug", "Rejected connection from excluded peer: %s", "[::ffff:198.51.100.29]:54000")
	logf("tcp_listener", "debug", "Rejected connection from excluded peer: %s", "::ffff:198.51.100.22")
	logf("tcp_listener", "debug", "Max connections per IP reached (%d), unable to open new connection: %s", 4, "::ffff:198.51.100.23")
	logf("tcp_listener", "debug", "Accepted connection: %s (%s)", "[::ffff:198.51.100.24]:7075", "inbound")
	logf("tcp_listener", "debug", "Max connections per IP reached (%d), unable to open new connection: %s", 4, "2001:db8::23")
	// Not nano's words at debug: an info line holding the same text.
	logf("node", "info", "Error deserializing message: %s (%s)", "invalid_header", "[::ffff:"+victim+"]:7075")
	// An error text with an endpoint of its own before nano's.
	logf("tcp_server", "debug", "Error reading message: %s, status: %s (%s)", "bad (["+victim+"]:7075)", "invalid_header", "[::ffff:198.51.100.25]:7075")
	return f
}
