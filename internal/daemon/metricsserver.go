package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// serveMetrics binds Options.MetricsAddr and serves /metrics until Stop. A
// bind failure fails the start, like the control socket's: a daemon whose
// metrics nobody can scrape must not look started.
func (d *Daemon) serveMetrics() error {
	if d.o.MetricsAddr == "" {
		return nil
	}
	gather, ok := d.o.Registry.(prometheus.Gatherer)
	if !ok {
		return errors.New("metrics: Options.Registry must also be a prometheus.Gatherer to serve MetricsAddr")
	}
	ln, err := net.Listen("tcp", d.o.MetricsAddr)
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(gather, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			d.log.Error("metrics server", "err", err)
		}
	})
	d.metricsAddr = ln.Addr()
	d.log.Info("serving metrics", "addr", ln.Addr().String())
	d.teardown = append(d.teardown, func() error {
		// Scrapes in flight may finish; then every connection is closed.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		err := srv.Shutdown(ctx)
		if err != nil {
			err = srv.Close()
		}
		wg.Wait()
		return err
	})
	return nil
}
