package main

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/agentry/agentry/transport/wire"
)

func TestCarRentalBooks(t *testing.T) {
	for _, k := range []string{"OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_MODEL"} {
		t.Setenv(k, "")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out bytes.Buffer
	events, bookings, err := run(ctx, &out, messages)
	if err != nil {
		t.Fatalf("run: %v\noutput:\n%s", err, out.String())
	}

	if len(bookings) != 1 {
		t.Fatalf("bookings = %+v, want 1", bookings)
	}
	if b := bookings[0]; b.CarID != "LIS-1" || b.Days != 3 || b.TotalEUR != 105 {
		t.Errorf("booking = %+v, want LIS-1 for 3 days at 105 EUR", b)
	}

	var routine []string
	var tools []string
	var replies []string
	for _, ev := range events {
		switch ev.Kind {
		case wire.KindAgentMessage:
			replies = append(replies, ev.Text)
		case wire.KindRoutine:
			routine = append(routine, ev.NodeID+"/"+ev.State)
		case wire.KindToolCall:
			tools = append(tools, ev.Tool)
		}
	}
	if got, want := strings.Join(routine, " "), "ask_city/entered search/entered confirm/entered book/entered done/entered done/completed"; got != want {
		t.Errorf("routine events = %q, want %q", got, want)
	}
	if got, want := strings.Join(tools, " "), "cars:search cars:quote cars:book"; got != want {
		t.Errorf("tool calls = %q, want %q: the closing message must not start a new booking", got, want)
	}
	// The greeting and one reply per customer message.
	if len(replies) != len(messages)+1 {
		t.Fatalf("%d agent messages, want %d", len(replies), len(messages)+1)
	}
	if last := replies[len(replies)-1]; !strings.Contains(last, "You are welcome") {
		t.Errorf("reply to %q = %q, want the closing reply", messages[len(messages)-1], last)
	}
	for _, want := range []string{"routine booking completed at done", "BK-0001"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// A second request to rent starts the booking routine again, and its
// transitions are judged on the new request alone: the city, the days
// and the "yes" of the first booking do not carry it to cars:book.
func TestCarRentalSecondBookingAsksAgain(t *testing.T) {
	for _, k := range []string{"OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_MODEL"} {
		t.Setenv(k, "")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out bytes.Buffer
	msgs := append(slices.Clone(messages), "I would like to rent another car.")
	events, bookings, err := run(ctx, &out, msgs)
	if err != nil {
		t.Fatalf("run: %v\noutput:\n%s", err, out.String())
	}

	if len(bookings) != 1 {
		t.Errorf("bookings = %+v, want only the first", bookings)
	}
	// The events of the fifth turn follow the fifth customer message.
	turns := 0
	var routine, tools []string
	for _, ev := range events {
		if ev.Kind == wire.KindUserMessage {
			turns++
			continue
		}
		if turns < len(msgs) {
			continue
		}
		switch ev.Kind {
		case wire.KindRoutine:
			routine = append(routine, ev.NodeID+"/"+ev.State)
		case wire.KindToolCall:
			tools = append(tools, ev.Tool)
		}
	}
	if got, want := strings.Join(routine, " "), "ask_city/entered"; got != want {
		t.Errorf("routine events of the fifth turn = %q, want %q", got, want)
	}
	if len(tools) != 0 {
		t.Errorf("tool calls of the fifth turn = %q, want none", tools)
	}
}
