package fleet

import (
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/peerjail/peerjail/internal/config"
)

// natsOptions turn the fleet section into the connection's options. The
// connection retries for ever: a fleet that is away must not stop the
// daemon, which bans locally meanwhile.
func (f *Fleet) natsOptions() ([]nats.Option, error) {
	cfg := f.cfg
	opts := []nats.Option{
		nats.Name("peerjail " + f.reporter),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(f.opts.ReconnectWait),
		nats.RetryOnFailedConnect(true),
		nats.Timeout(2 * time.Second),
		// A silent partition (a link down, a firewall dropping packets)
		// shows only as unanswered pings: with the client's default of two
		// minutes between them, status would say connected for minutes
		// while nothing gets through. Two unanswered pings 2s apart
		// tell it in about six seconds.
		nats.PingInterval(2 * time.Second),
		nats.MaxPingsOutstanding(2),
		// Replies to this host alone: the server's permissions let each
		// user subscribe to its own inbox prefix only.
		nats.CustomInboxPrefix("_INBOX_" + f.reporter),
		nats.ConnectHandler(func(nc *nats.Conn) { f.setConnected(nc, nil) }),
		nats.ReconnectHandler(func(nc *nats.Conn) { f.setConnected(nc, nil) }),
		nats.DisconnectErrHandler(func(nc *nats.Conn, err error) { f.setConnected(nil, err) }),
		nats.ClosedHandler(func(*nats.Conn) { f.setConnected(nil, nil) }),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			// Permission violations arrive here: a reporter set to a user
			// other than the credentials' cannot publish.
			f.log.Warn("fleet: NATS error", "err", err)
			f.noteError(err)
		}),
	}
	switch {
	case cfg.Creds != "":
		opts = append(opts, nats.UserCredentials(cfg.Creds))
	case cfg.NKey != "":
		o, err := nats.NkeyOptionFromSeed(cfg.NKey)
		if err != nil {
			return nil, fmt.Errorf("fleet: nkey %s: %w", cfg.NKey, err)
		}
		opts = append(opts, o)
	}
	if cfg.TLS.CA != "" {
		opts = append(opts, nats.RootCAs(cfg.TLS.CA))
	}
	if cfg.TLS.Cert != "" {
		opts = append(opts, nats.ClientCert(cfg.TLS.Cert, cfg.TLS.Key))
	}
	return append(opts, f.opts.NATS...), nil
}

func serverList(cfg config.Fleet) string { return strings.Join(cfg.Servers, ",") }
