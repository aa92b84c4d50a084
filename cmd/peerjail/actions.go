package main

import (
	"github.com/peerjail/peerjail/internal/action"
	"github.com/peerjail/peerjail/internal/config"
	"github.com/peerjail/peerjail/internal/execaction"
	"github.com/peerjail/peerjail/internal/flowadmin"
	"github.com/peerjail/peerjail/internal/webhook"
)

// actionConstructors are the action backends this binary is built with,
// besides the daemon's own nftables and dry-run.
func actionConstructors() map[config.ActionType]action.Constructor {
	return map[config.ActionType]action.Constructor{
		config.ActionFlowAdmin: flowadmin.New,
		config.ActionWebhook:   webhook.New,
		config.ActionExec:      execaction.New,
	}
}
