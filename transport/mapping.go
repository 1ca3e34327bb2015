package transport

import (
	"github.com/agentry/agentry/agent"
	"github.com/agentry/agentry/store"
	"github.com/agentry/agentry/transport/wire"
)

// The store and engine types are not the wire contract; these functions
// map between them so either side can change alone.

func toWireEvent(e store.Event) (wire.Event, error) {
	p, err := agent.DecodePayload(e)
	if err != nil {
		return wire.Event{}, err
	}
	out := wire.Event{
		SessionID: e.SessionID,
		Offset:    e.Offset,
		Kind:      e.Kind,
		CreatedAt: e.CreatedAt.UTC(),
		TurnID:    e.TurnID,
		Text:      p.Text,
		Source:    p.Source,
		Metadata:  p.Metadata,
		Status:    p.Status,
		CallID:    p.CallID,
		Tool:      p.Tool,
		Arguments: p.Arguments,
		Result:    p.Result,
		Injected:  p.Injected,
		RoutineID: p.RoutineID,
		NodeID:    p.NodeID,
		State:     p.State,
		Mode:      p.Mode,
		Reason:    p.Reason,
	}
	for _, c := range p.Citations {
		out.Citations = append(out.Citations, wire.Citation{ID: c.ID, Title: c.Title, Score: c.Score})
	}
	if p.Error != nil {
		out.Error = &wire.ErrorInfo{Code: p.Error.Code, Message: p.Error.Message}
	}
	return out, nil
}

func toWireSession(s store.Session) wire.Session {
	return wire.Session{
		ID:         s.ID,
		CustomerID: s.CustomerID,
		Mode:       s.Mode,
		Variables:  nonNil(s.Variables),
		Metadata:   nonNil(s.Metadata),
		WebhookURL: s.WebhookURL,
		NextOffset: s.NextOffset,
		Busy:       s.NeedsTurn(),
		CreatedAt:  s.CreatedAt.UTC(),
		UpdatedAt:  s.UpdatedAt.UTC(),
	}
}

func toWireCustomer(c store.Customer) wire.Customer {
	return wire.Customer{
		ID:        c.ID,
		Name:      c.Name,
		Variables: nonNil(c.Variables),
		Metadata:  nonNil(c.Metadata),
		CreatedAt: c.CreatedAt.UTC(),
		UpdatedAt: c.UpdatedAt.UTC(),
	}
}

// nonNil returns m, or an empty map so the JSON shows {} rather than null.
func nonNil(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}
