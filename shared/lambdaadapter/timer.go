package lambdaadapter

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/crmsync/crmsync/shared/funchost"
)

// invokeTimer runs the timer function a scheduled event is meant for.
func (a *Adapter) invokeTimer(ctx context.Context, payload []byte) (out []byte, err error) {
	var ev events.EventBridgeEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return nil, fmt.Errorf("%w: malformed scheduled event: %v", ErrUnsupportedEvent, err)
	}
	fn, err := a.timerFunction(ev)
	if err != nil {
		return nil, err
	}
	defer func() {
		if v := recover(); v != nil {
			a.log.Error("function panicked", "function", fn.Name, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			out, err = nil, fmt.Errorf("function %s panicked", fn.Name)
		}
	}()
	outs, err := fn.Timer(ctx, funchost.TimerTrigger{InvocationID: ev.ID})
	if err != nil {
		return nil, fmt.Errorf("function %s failed: %w", fn.Name, err)
	}
	if err := a.send(ctx, fn.Name, outs); err != nil {
		return nil, err
	}
	return json.Marshal(map[string]string{"function": fn.Name, "status": "ok"})
}

// timerFunction picks the timer function for a scheduled event. The convention:
//
//  1. a "function" field in the event's detail names it — EventBridge Scheduler
//     lets a schedule send any JSON, e.g. {"function":"scheduler"};
//  2. otherwise the rule or schedule name (the last segment of the first ARN in
//     resources) is the function's name, optionally after a prefix ending in
//     "-": rule "crmsync-keyrotation" runs keyrotation.
func (a *Adapter) timerFunction(ev events.EventBridgeEvent) (funchost.Function, error) {
	var detail struct {
		Function string `json:"function"`
	}
	if len(ev.Detail) > 0 {
		// A detail that is not an object (or has no "function") falls through
		// to the rule name.
		_ = json.Unmarshal(ev.Detail, &detail)
	}
	if detail.Function != "" {
		fn, ok := a.timers[strings.ToLower(detail.Function)]
		if !ok {
			return funchost.Function{}, fmt.Errorf("%w: detail names function %q, which is not a timer function", ErrUnsupportedEvent, detail.Function)
		}
		return fn, nil
	}
	if len(ev.Resources) == 0 {
		return funchost.Function{}, fmt.Errorf("%w: scheduled event has neither detail.function nor a rule ARN in resources", ErrUnsupportedEvent)
	}
	arn := ev.Resources[0]
	rule := strings.ToLower(arn[strings.LastIndex(arn, "/")+1:])
	if fn, ok := a.timers[rule]; ok {
		return fn, nil
	}
	if i := strings.LastIndex(rule, "-"); i >= 0 {
		if fn, ok := a.timers[rule[i+1:]]; ok {
			return fn, nil
		}
	}
	return funchost.Function{}, fmt.Errorf("%w: schedule %q matches no timer function (name the rule after the function, e.g. crmsync-scheduler)", ErrUnsupportedEvent, rule)
}
