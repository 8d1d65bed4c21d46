package account

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"

	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/reconcile"
	"github.com/crmsync/crmsync/shared/schedule"
	"github.com/crmsync/crmsync/shared/side"
	"github.com/crmsync/crmsync/shared/tablestore"
)

// SettingsTable holds each user's sync settings (PartitionKey user, RowKey
// "sync") and sealed fingerprint key (RowKey "fpkey").
const SettingsTable = "settings"

const (
	settingsRow = "sync"
	// DefaultPlan is the plan of users nobody put on another.
	DefaultPlan = "free"
	// MaxWindowDays bounds the event and task windows: a wider window makes
	// every session read more for little use.
	MaxWindowDays = 365
)

// Settings are a user's sync settings: plain choices, never content.
type Settings struct {
	// Policies per kind; a kind absent uses reconcile.DefaultPolicy.
	Policies map[item.Kind]reconcile.Policy `json:"policies,omitempty"`
	// ContactListView is the Salesforce list view id scoping contacts ("" =
	// contacts the user owns).
	ContactListView string `json:"contactListView,omitempty"`
	// PastDays and FutureDays bound the event and task windows (0 = 14 / 28).
	PastDays   int   `json:"pastDays,omitempty"`
	FutureDays int   `json:"futureDays,omitempty"`
	Email      Email `json:"email"`
	// Plan is the service plan's name (schedule.Plans). It is stored once,
	// in the user's schedule row (the scheduler needs it on every tick):
	// reading settings fills it from there, saving them never stores it.
	// Users cannot change it themselves; SetPlan does.
	Plan string `json:"plan,omitempty"`
	// Custom are the custom field mappings per kind, beyond the standard
	// fields: field names only (configuration), never a value.
	Custom map[item.Kind][]item.CustomField `json:"customFields,omitempty"`
	// Calendars are the ids of the mailbox calendars events sync from
	// (none = the default calendar).
	Calendars []string `json:"calendars,omitempty"`
}

// MaxCalendars caps the calendars one user syncs: each is a delta request
// every session.
const MaxCalendars = 10

// MaxCustomFields caps the custom field mappings of one kind: each costs
// every read of the kind a little, and extended properties a $batch read.
const MaxCustomFields = 20

// Email are the e-mail sharing options.
type Email struct {
	Enabled      bool     `json:"enabled"`
	CreateLeads  bool     `json:"createLeads"`
	SkipFreeMail bool     `json:"skipFreeMail"`
	OwnDomains   []string `json:"ownDomains,omitempty"`
	// ShareCategory marks items to share ("" = "Salesforce").
	ShareCategory string `json:"shareCategory,omitempty"`
	// Folder is the share folder ("" = "Salesforce Emails").
	Folder string `json:"folder,omitempty"`
}

// DefaultSettings are the settings of a user who never saved any.
func DefaultSettings() Settings {
	return Settings{Email: Email{Enabled: true, SkipFreeMail: true}, Plan: DefaultPlan}
}

// Policy returns the effective policy of kind, defaults filled in.
func (s Settings) Policy(kind item.Kind) reconcile.Policy {
	return s.Policies[kind].WithDefaults(kind)
}

// SyncPolicy is the policy a session syncs kind with: Policy, with the
// canonical names of the kind's custom mappings among its fields.
func (s Settings) SyncPolicy(kind item.Kind) reconcile.Policy {
	p := s.Policy(kind)
	if len(s.Custom[kind]) == 0 {
		return p
	}
	p.Fields = slices.Clone(p.Fields)
	for _, c := range s.Custom[kind] {
		if !slices.Contains(p.Fields, c.Canonical()) {
			p.Fields = append(p.Fields, c.Canonical())
		}
	}
	return p
}

// FieldError names one invalid setting.
type FieldError struct {
	// Field is the setting's name as in the form and the JSON
	// ("contact.direction", "email.ownDomains", "pastDays").
	Field   string `json:"field"`
	Message string `json:"message"`
}

// ValidationError lists every invalid setting. It wraps ErrInvalid.
type ValidationError struct {
	Fields []FieldError
}

func (e *ValidationError) Error() string {
	var parts []string
	for _, f := range e.Fields {
		parts = append(parts, f.Field+": "+f.Message)
	}
	return "account: invalid settings: " + strings.Join(parts, "; ")
}

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *ValidationError) Unwrap() error { return ErrInvalid }

var (
	listViewID = regexp.MustCompile(`^[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?$`)
	// calendarID is a Graph id: base64 (URL-safe or not), at most 512 characters.
	calendarID = regexp.MustCompile(`^[A-Za-z0-9+/=_-]{1,512}$`)
	domainName = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$`)
)

// Validate reports every invalid setting in one *ValidationError. The CRM's
// and the mailbox's connectors check their halves of the custom field
// mappings.
func (s Settings) Validate(crm, mailbox side.Connector) error {
	var errs []FieldError
	add := func(field, format string, args ...any) {
		errs = append(errs, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	kinds := slices.Sorted(func(yield func(item.Kind) bool) {
		for k := range s.Policies {
			if !yield(k) {
				return
			}
		}
	})
	for _, k := range kinds {
		if !slices.Contains(item.Kinds, k) {
			add("policies", "unknown kind %q (known: %s)", k, kindList())
			continue
		}
		p := s.Policies[k]
		if err := p.Validate(); err != nil {
			add(string(k), "%s", strings.TrimPrefix(err.Error(), "reconcile: "))
		}
	}
	errs = append(errs, s.validateCustom(crm, mailbox)...)
	if len(s.Calendars) > MaxCalendars {
		add("calendars", "%d calendars chosen, at most %d sync", len(s.Calendars), MaxCalendars)
	}
	for i, c := range s.Calendars {
		switch {
		case !calendarID.MatchString(c):
			add("calendars", "%q is not a calendar id", c)
		case slices.Contains(s.Calendars[:i], c):
			add("calendars", "calendar %q is chosen twice", c)
		}
	}
	if s.ContactListView != "" && !listViewID.MatchString(s.ContactListView) {
		add("contactListView", "%q is not a Salesforce list view id (15 or 18 letters and digits)", s.ContactListView)
	}
	for _, d := range []struct {
		name string
		v    int
	}{{"pastDays", s.PastDays}, {"futureDays", s.FutureDays}} {
		if d.v < 0 || d.v > MaxWindowDays {
			add(d.name, "%d is outside 0..%d days (0 means the default)", d.v, MaxWindowDays)
		}
	}
	for _, d := range s.Email.OwnDomains {
		if !domainName.MatchString(d) {
			add("email.ownDomains", "%q is not a domain name such as example.com", d)
		}
	}
	for _, f := range []struct{ name, v string }{{"email.shareCategory", s.Email.ShareCategory}, {"email.folder", s.Email.Folder}} {
		if len(f.v) > 255 {
			add(f.name, "is longer than 255 characters")
		}
		if strings.ContainsFunc(f.v, unicode.IsControl) {
			add(f.name, "contains control characters")
		}
	}
	if s.Plan != "" {
		if _, ok := schedule.Plans[s.Plan]; !ok {
			add("plan", "unknown plan %q (known: %s)", s.Plan, planList())
		}
	}
	if len(errs) > 0 {
		return &ValidationError{Fields: errs}
	}
	return nil
}

func kindList() string {
	var names []string
	for _, k := range item.Kinds {
		names = append(names, string(k))
	}
	return strings.Join(names, ", ")
}

func planList() string {
	var names []string
	for n := range schedule.Plans {
		names = append(names, n)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// normalize lowercases and trims domains, dropping empty ones, so the same
// choice is stored the same way.
func (s Settings) normalize() Settings {
	var ds []string
	for _, d := range s.Email.OwnDomains {
		d = strings.ToLower(strings.TrimSpace(d))
		if d != "" && !slices.Contains(ds, d) {
			ds = append(ds, d)
		}
	}
	s.Email.OwnDomains = ds
	s.ContactListView = strings.TrimSpace(s.ContactListView)
	if len(s.Policies) == 0 {
		s.Policies = nil
	}
	custom := map[item.Kind][]item.CustomField{}
	for k, list := range s.Custom {
		for _, c := range list {
			c.CRM, c.Mailbox = strings.TrimSpace(c.CRM), strings.TrimSpace(c.Mailbox)
			if c.CRM != "" || c.Mailbox != "" {
				custom[k] = append(custom[k], c)
			}
		}
	}
	s.Custom = custom
	if len(s.Custom) == 0 {
		s.Custom = nil
	}
	return s
}

// Settings returns a user's settings (DefaultSettings when none are stored).
func (a *Accounts) Settings(ctx context.Context, user string) (Settings, error) {
	s, _, err := a.readSettings(ctx, user)
	return s, err
}

func (a *Accounts) readSettings(ctx context.Context, user string) (Settings, string, error) {
	e, err := a.d.Tables.Get(ctx, SettingsTable, user, settingsRow)
	if errors.Is(err, tablestore.ErrNotFound) {
		s := DefaultSettings()
		if s.Plan, err = a.plan(ctx, user); err != nil {
			return Settings{}, "", err
		}
		return s, "", nil
	}
	if err != nil {
		return Settings{}, "", fmt.Errorf("account: reading settings: %w", err)
	}
	doc, _ := e.Properties["Doc"].(string)
	var s Settings
	if err := json.Unmarshal([]byte(doc), &s); err != nil {
		return Settings{}, "", fmt.Errorf("account: stored settings of user %s do not parse: %w", user, err)
	}
	if s.Plan, err = a.plan(ctx, user); err != nil {
		return Settings{}, "", err
	}
	return s, e.ETag, nil
}

// plan reads the user's plan from the schedule, its one home (a plan an
// older settings row still carries is ignored); DefaultPlan for a user not
// enrolled.
func (a *Accounts) plan(ctx context.Context, user string) (string, error) {
	plan, err := a.d.Scheduler.Plan(ctx, user)
	if err != nil {
		return "", fmt.Errorf("account: reading the plan: %w", err)
	}
	if plan == "" {
		plan = DefaultPlan
	}
	return plan, nil
}

// SaveSettings validates s and stores it as the user's settings. The plan is
// not the user's to choose: the stored plan is kept whatever s says.
func (a *Accounts) SaveSettings(ctx context.Context, user string, s Settings) error {
	s = s.normalize()
	cur, etag, err := a.readSettings(ctx, user)
	if err != nil {
		return err
	}
	s.Plan = cur.Plan
	if err := s.Validate(a.d.CRM, a.d.Mailbox); err != nil {
		return err
	}
	if err := a.writeSettings(ctx, user, s, etag); err != nil {
		return err
	}
	// After the write: a listener that fails leaves the settings saved and
	// says so; saving again (the same settings) tells it again.
	var errs []error
	for _, l := range a.d.Saved {
		if err := l.SettingsSaved(ctx, user, cur, s); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("account: settings saved, but what depends on them was not updated (save again): %w", err)
	}
	return nil
}

// SettingsListener hears of a user's settings once saved: before (as they
// were) and after. It is called on every save, so one that cares about a
// single setting compares the two and does nothing when that one is
// unchanged.
type SettingsListener interface {
	SettingsSaved(ctx context.Context, user string, before, after Settings) error
}

// SettingsListenerFunc adapts a function to SettingsListener.
type SettingsListenerFunc func(ctx context.Context, user string, before, after Settings) error

// SettingsSaved calls f.
func (f SettingsListenerFunc) SettingsSaved(ctx context.Context, user string, before, after Settings) error {
	return f(ctx, user, before, after)
}

// SetPlan puts a user on a plan (an admin action) by re-enrolling them in
// the scheduler, which stores the plan and applies its interval.
func (a *Accounts) SetPlan(ctx context.Context, user, plan string) error {
	if _, ok := schedule.Plans[plan]; !ok {
		return &ValidationError{Fields: []FieldError{{Field: "plan", Message: fmt.Sprintf("unknown plan %q (known: %s)", plan, planList())}}}
	}
	if err := a.d.Scheduler.Enroll(ctx, user, plan, a.d.Now()); err != nil {
		return fmt.Errorf("account: re-enrolling on plan %s: %w", plan, err)
	}
	return nil
}

func (a *Accounts) writeSettings(ctx context.Context, user string, s Settings, etag string) error {
	s.Plan = "" // stored in the schedule row only
	doc, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("account: encoding settings: %w", err)
	}
	e := tablestore.Entity{PartitionKey: user, RowKey: settingsRow, Properties: map[string]any{"Doc": string(doc)}}
	if etag == "" {
		_, err = a.d.Tables.Insert(ctx, SettingsTable, e)
	} else {
		_, err = a.d.Tables.Update(ctx, SettingsTable, e, etag)
	}
	if errors.Is(err, tablestore.ErrExists) || errors.Is(err, tablestore.ErrPrecondition) {
		return fmt.Errorf("account: settings changed meanwhile; reload and try again: %w", ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("account: saving settings: %w", err)
	}
	return nil
}
