package main

import (
	"github.com/crmsync/crmsync/functions/addin"
	"github.com/crmsync/crmsync/functions/dashboard"
	"github.com/crmsync/crmsync/functions/detector"
	"github.com/crmsync/crmsync/functions/digest"
	"github.com/crmsync/crmsync/functions/keyrotation"
	"github.com/crmsync/crmsync/functions/notifications"
	"github.com/crmsync/crmsync/functions/pixel"
	"github.com/crmsync/crmsync/functions/scheduler"
	"github.com/crmsync/crmsync/functions/syncworker"
	"github.com/crmsync/crmsync/functions/taskpane"
	"github.com/crmsync/crmsync/shared/funchost"
)

// routes is the one table of crmsync's functions: name (= folder = package =
// route), trigger, and handler. Each functions/<name>/function.json must say the
// same; routes_test.go checks it.
func routes(a *app) []funchost.Function {
	var table []funchost.Function
	table = []funchost.Function{
		{Name: "scheduler", Trigger: funchost.TimerTriggerOn(scheduler.Schedule),
			Timer: scheduler.New(a.log, a.sched, a.subs, a.now).Run},
		{Name: "syncworker", Trigger: funchost.QueueTriggerOn(syncworker.Queue),
			Queue: syncworker.New(a.log, a.runner, a.afterSession, a.sched, a.now).Handle},
		{Name: "notifications", Trigger: funchost.HTTPTrigger("notifications", funchost.AuthAnonymous, "post"),
			HTTP: notifications.New(a.pusher(), a.sched, a.now)},
		{Name: "dashboard", Trigger: funchost.HTTPTrigger("dashboard/{*path}", funchost.AuthAnonymous, "get", "head", "post", "put", "delete"),
			HTTP: dashboard.New(dashboard.Deps{
				Info:      dashboard.Info{Service: "crmsync", Version: a.version, Storage: a.settings.Storage, Demo: a.settings.Demo},
				Queues:    a.queue,
				Functions: func() []funchost.Function { return table },
				App:       a.dashboard,
				Operator:  a.operator,
				Log:       a.log,
			})},
		{Name: "addin", Trigger: funchost.HTTPTrigger("addin/{*path}", funchost.AuthAnonymous, "get", "post", "patch", "delete", "options"),
			HTTP: addin.New(a.addin)},
		{Name: "pixel", Trigger: funchost.HTTPTrigger("pixel/{*path}", funchost.AuthAnonymous, "get", "head", "post"),
			HTTP: pixel.New(a.pixel)},
		{Name: "taskpane", Trigger: funchost.HTTPTrigger("taskpane/{*path}", funchost.AuthAnonymous, "get", "head"),
			HTTP: taskpane.New(taskpane.Config(a.settings.Settings))},
		{Name: "keyrotation", Trigger: funchost.TimerTriggerOn(keyrotation.Schedule),
			Timer: keyrotation.New(a.log, a.ring, a.conns, a.accounts).Run},
		{Name: "digest", Trigger: funchost.TimerTriggerOn(digest.Schedule),
			Timer: digest.New(a.log, a.notifier).Run},
		{Name: "detector", Trigger: funchost.TimerTriggerOn(detector.Schedule),
			Timer: detector.New(a.log, a.detectorRunner(), a.now).Run},
	}
	return table
}
