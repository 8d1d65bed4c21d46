package fakegoogle

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// DefaultChannelTTL is the life of a watch channel asked without an
// expiration (the fake's choice: a week).
const DefaultChannelTTL = 7 * 24 * time.Hour

// channel is a watch channel on a user's calendar events.
type channel struct {
	id, resourceID, address, token, user, cal string
	expires                                   time.Time
	number                                    int
}

type delivery struct {
	address string
	header  http.Header
	body    []byte // empty for Calendar's notifications
}

// watchEvents is events.watch: a web_hook channel that is first told "sync"
// and then "exists" at every change of the calendar's events.
func (s *Server) watchEvents(w http.ResponseWriter, r *http.Request, u *user) {
	evs := s.calendar(w, r, u)
	if evs == nil {
		return
	}
	var body struct {
		ID         string `json:"id"`
		Type       string `json:"type"`
		Address    string `json:"address"`
		Token      string `json:"token"`
		Expiration string `json:"expiration"`
	}
	b, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(b, &body); err != nil || body.ID == "" || len(body.ID) > 64 || body.Address == "" {
		legacyError(w, http.StatusBadRequest, "required", "Channel id (at most 64 characters) and address are required.")
		return
	}
	if body.Type != "web_hook" {
		legacyError(w, http.StatusBadRequest, "invalid", "Invalid channel type: "+body.Type)
		return
	}
	for _, c := range s.channels {
		if c.id == body.ID {
			legacyError(w, http.StatusBadRequest, "channelIdNotUnique", "Channel id not unique.")
			return
		}
	}
	exp := s.now().Add(DefaultChannelTTL)
	if body.Expiration != "" {
		ms, err := strconv.ParseInt(body.Expiration, 10, 64)
		if err != nil {
			legacyError(w, http.StatusBadRequest, "invalid", "Invalid expiration")
			return
		}
		if t := time.UnixMilli(ms).UTC(); t.Before(exp) {
			exp = t
		}
	}
	cal := r.PathValue("cal")
	c := &channel{id: body.ID, resourceID: randomID("r"), address: body.Address, token: body.Token, user: strings.ToLower(u.email), cal: cal, expires: exp}
	s.channels = append(s.channels, c)
	s.notify(c, "sync")
	writeJSON(w, http.StatusOK, map[string]any{"kind": "api#channel", "id": c.id, "resourceId": c.resourceID,
		"resourceUri": "https://www.googleapis.com/calendar/v3/calendars/" + cal + "/events?alt=json", "token": c.token,
		"expiration": strconv.FormatInt(exp.UnixMilli(), 10)})
}

// stopChannel is channels.stop.
func (s *Server) stopChannel(w http.ResponseWriter, r *http.Request, u *user) {
	var body struct {
		ID         string `json:"id"`
		ResourceID string `json:"resourceId"`
	}
	b, _ := io.ReadAll(r.Body)
	_ = json.Unmarshal(b, &body)
	for i, c := range s.channels {
		if c.id == body.ID && c.resourceID == body.ResourceID {
			s.channels = append(s.channels[:i], s.channels[i+1:]...)
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	legacyError(w, http.StatusNotFound, "notFound", "Channel '"+body.ID+"' not found for project")
}

// notify queues a notification of channel c; it goes out after the request.
func (s *Server) notify(c *channel, state string) {
	if s.now().After(c.expires) {
		return // an expired channel is silent
	}
	c.number++
	h := http.Header{}
	h.Set("X-Goog-Channel-ID", c.id)
	h.Set("X-Goog-Channel-Token", c.token)
	h.Set("X-Goog-Channel-Expiration", c.expires.Format(http.TimeFormat))
	h.Set("X-Goog-Resource-ID", c.resourceID)
	h.Set("X-Goog-Resource-URI", "https://www.googleapis.com/calendar/v3/calendars/"+c.cal+"/events?alt=json")
	h.Set("X-Goog-Resource-State", state)
	h.Set("X-Goog-Message-Number", strconv.Itoa(c.number))
	s.pending = append(s.pending, delivery{address: c.address, header: h})
}

// eventsChanged tells the channels watching a user's calendar.
func (s *Server) eventsChanged(u *user, cal string) {
	for _, c := range s.channels {
		if c.user == strings.ToLower(u.email) && (c.cal == cal || c.cal == "primary" && strings.EqualFold(cal, u.email) || strings.EqualFold(c.cal, u.email) && cal == "primary") {
			s.notify(c, "exists")
		}
	}
}

// deliver sends queued notifications: an empty POST with the X-Goog headers.
func (s *Server) deliver() {
	s.mu.Lock()
	pending := s.pending
	s.pending = nil
	s.mu.Unlock()
	client := s.opts.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	for _, d := range pending {
		req, err := http.NewRequest(http.MethodPost, d.address, bytes.NewReader(d.body))
		if err != nil {
			continue
		}
		req.Header = d.header
		if resp, err := client.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
}

// Channel is a watch channel as a test sees it.
type Channel struct {
	ID, ResourceID, Token, Address, Calendar string
	Expires                                  time.Time
}

// Channels lists the live watch channels on a user's calendars.
func (s *Server) Channels(email string) []Channel {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Channel
	for _, c := range s.channels {
		if c.user == strings.ToLower(email) {
			out = append(out, Channel{ID: c.id, ResourceID: c.resourceID, Token: c.token, Address: c.address, Calendar: c.cal, Expires: c.expires})
		}
	}
	return out
}
