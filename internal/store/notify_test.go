package store

import (
	"context"
	"testing"
	"time"

	"github.com/riverqueue/river/riverdriver"
)

func TestListenerDeliversPublishedNotifications(t *testing.T) {
	ctx := t.Context()
	s := mustOpen(t, nil)
	l := s.RiverDriver().GetListener(&riverdriver.GetListenenerParams{})
	if err := l.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	if err := l.Listen(ctx, topicInsert); err != nil {
		t.Fatal(err)
	}
	s.bus.publish("river_leadership", `{}`) // not listened to: dropped
	s.NotifyQueue("submit")
	wait, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	n, err := l.WaitForNotification(wait)
	if err != nil {
		t.Fatal(err)
	}
	if n.Topic != topicInsert || n.Payload != `{"queue": "submit"}` {
		t.Errorf("notification = %+v", n)
	}

	// An interrupted wait returns the context's error and the listener
	// stays usable.
	short, cancelShort := context.WithCancel(ctx)
	cancelShort()
	if _, err := l.WaitForNotification(short); err != context.Canceled {
		t.Errorf("cancelled wait = %v, want context.Canceled", err)
	}
	s.NotifyQueue("confirm")
	if n, err := l.WaitForNotification(wait); err != nil || n.Payload != `{"queue": "confirm"}` {
		t.Errorf("after an interrupted wait: %+v, %v", n, err)
	}

	if err := l.Unlisten(ctx, topicInsert); err != nil {
		t.Fatal(err)
	}
	s.NotifyQueue("submit")
	short, cancelShort = context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancelShort()
	if n, err := l.WaitForNotification(short); err == nil {
		t.Errorf("got %+v after Unlisten", n)
	}
	if err := l.Close(ctx); err != nil {
		t.Fatal(err)
	}
	s.NotifyQueue("submit") // no listener left: must not block or panic
}
