package msgraph

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/tablestore"
)

// SubscriptionTable is the table that holds subscription records.
const SubscriptionTable = "subscriptions"

// Subscription lifetimes: Graph allows up to 10,080 minutes for Outlook
// resources (older documents say 4,230); crmsync asks for 3 days, which every
// cloud accepts, and renews a day before expiry.
const (
	SubscriptionLifetime = 3 * 24 * time.Hour
	RenewBefore          = 24 * time.Hour
)

// Subscriptions creates, renews and checks change-notification
// subscriptions. Records live in the table store: the subscription id, the
// user who owns it, the owner's Entra tenant, the resource, the expiry and an
// HMAC of the clientState — never the clientState itself.
type Subscriptions struct {
	store        tablestore.Store
	key          []byte
	notifyURL    string
	lifecycleURL string
	clients      Renewer
	tenants      TenantOf
}

// TenantOf tells the Entra tenant id of a user's mailbox: the tenant of the
// user's Microsoft connection. "" means the user has none.
type TenantOf func(ctx context.Context, user string) (string, error)

// SubscriptionOptions configure Subscriptions.
type SubscriptionOptions struct {
	// Store holds the subscription records (table SubscriptionTable).
	Store tablestore.Store
	// Key is a secret of at least 32 bytes for the clientState HMAC.
	Key []byte
	// NotificationURL is the webhook Graph posts changes to (absolute).
	NotificationURL string
	// LifecycleURL receives lifecycle notifications ("" = none).
	LifecycleURL string
	// Clients gives a Graph client for a user, for renewals and lifecycle
	// events (the caller unseals the user's tokens).
	Clients Renewer
	// Tenants tells a subscription owner's tenant, recorded with the
	// subscription, so that a notification naming another tenant is refused
	// (nil = none recorded: then only records that already hold a tenant
	// are checked against it).
	Tenants TenantOf
}

// NewSubscriptions returns a subscription registry, or an error naming every
// missing or bad option.
func NewSubscriptions(opts SubscriptionOptions) (*Subscriptions, error) {
	var bad []string
	if opts.Store == nil {
		bad = append(bad, "Store")
	}
	if len(opts.Key) < 32 {
		bad = append(bad, "Key (32 bytes or more)")
	}
	if !strings.HasPrefix(opts.NotificationURL, "https://") && !strings.HasPrefix(opts.NotificationURL, "http://") {
		bad = append(bad, "NotificationURL (absolute)")
	}
	if opts.Clients == nil {
		bad = append(bad, "Clients")
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("msgraph: subscriptions need %s", strings.Join(bad, ", "))
	}
	return &Subscriptions{store: opts.Store, key: opts.Key, notifyURL: opts.NotificationURL, lifecycleURL: opts.LifecycleURL, clients: opts.Clients, tenants: opts.Tenants}, nil
}

// SubscriptionRecord is a stored subscription.
type SubscriptionRecord struct {
	ID string
	// User is the crmsync user who owns the subscription.
	User string
	// Tenant is the owner's Entra tenant id ("" when not known).
	Tenant   string
	Resource string
	Expires  time.Time
	stateMAC []byte
	etag     string
}

// Row layout: PartitionKey = subscription id, RowKey "sub". A second row per
// subscription (PartitionKey "user:"+user, RowKey = id) lists a user's
// subscriptions.
const subRow = "sub"

func userPartition(user string) string { return "user:" + user }

func (s *Subscriptions) mac(clientState string) []byte {
	h := hmac.New(sha256.New, s.key)
	h.Write([]byte(clientState))
	return h.Sum(nil)
}

// Resources returns the resources crmsync subscribes to for a side: the
// contact folder's contacts, the calendar's events, and the share folder's
// messages.
func (s *Side) Resources(ctx context.Context) ([]string, error) {
	fid, err := s.contactFolder(ctx, emptyScope)
	if err != nil {
		return nil, err
	}
	mid, err := s.shareFolder(ctx, emptyScope)
	if err != nil {
		return nil, err
	}
	mb := s.c.mailbox()
	return []string{mb + "/contactFolders/" + fid + "/contacts", mb + "/events", mb + "/mailFolders/" + mid + "/messages"}, nil
}

// Ensure creates the subscriptions user lacks for resources (as returned by
// Side.Resources) and returns the ids of all of them.
func (s *Subscriptions) Ensure(ctx context.Context, c *Client, user string, resources []string, now time.Time) ([]string, error) {
	have, err := s.ForUser(ctx, user)
	if err != nil {
		return nil, err
	}
	byResource := map[string]SubscriptionRecord{}
	for _, r := range have {
		if !slices.Contains(resources, r.Resource) {
			// A resource no longer wanted, such as one that named the
			// mailbox by address: ended at Graph and forgotten.
			if err := c.sendJSON(ctx, http.MethodDelete, "subscriptions/"+r.ID, nil, nil); err != nil && !fault.Is(err, fault.Gone) {
				return nil, err
			}
			if err := s.forget(ctx, r); err != nil {
				return nil, err
			}
			continue
		}
		if r.Expires.After(now) {
			byResource[r.Resource] = r
		}
	}
	var ids []string
	for _, res := range resources {
		if r, ok := byResource[res]; ok {
			ids = append(ids, r.ID)
			continue
		}
		r, err := s.create(ctx, c, user, res, now)
		if err != nil {
			return ids, err
		}
		ids = append(ids, r.ID)
	}
	return ids, nil
}

func (s *Subscriptions) create(ctx context.Context, c *Client, user, resource string, now time.Time) (SubscriptionRecord, error) {
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return SubscriptionRecord{}, err
	}
	state := base64.RawURLEncoding.EncodeToString(raw[:])
	req := wireSubscription{
		ChangeType: "created,updated,deleted", NotificationURL: s.notifyURL, LifecycleNotificationURL: s.lifecycleURL,
		Resource: resource, ExpirationDateTime: now.Add(SubscriptionLifetime).UTC().Format(time.RFC3339), ClientState: state,
	}
	var got wireSubscription
	if err := c.sendJSON(ctx, http.MethodPost, "subscriptions", req, &got); err != nil {
		return SubscriptionRecord{}, err
	}
	if got.ID == "" {
		return SubscriptionRecord{}, malformed("subscription", errMissingID)
	}
	rec := SubscriptionRecord{ID: got.ID, User: user, Resource: resource, Expires: parseInstant(got.ExpirationDateTime), stateMAC: s.mac(state)}
	if rec.Expires.IsZero() {
		rec.Expires = now.Add(SubscriptionLifetime)
	}
	return rec, s.put(ctx, rec)
}

func (s *Subscriptions) put(ctx context.Context, r SubscriptionRecord) error {
	if r.Tenant == "" && s.tenants != nil {
		// A failed look-up leaves the record without a tenant: the
		// notification handler asks again (Tenant).
		r.Tenant, _ = s.tenants(ctx, r.User)
	}
	props := map[string]any{"User": r.User, "Resource": r.Resource, "Expires": r.Expires.UTC(), "StateMAC": r.stateMAC}
	if r.Tenant != "" {
		props["Tenant"] = r.Tenant
	}
	if _, err := s.store.Upsert(ctx, SubscriptionTable, tablestore.Entity{PartitionKey: r.ID, RowKey: subRow, Properties: props}); err != nil {
		return err
	}
	_, err := s.store.Upsert(ctx, SubscriptionTable, tablestore.Entity{PartitionKey: userPartition(r.User), RowKey: r.ID, Properties: map[string]any{}})
	return err
}

// Get reads one subscription record; fault Gone when unknown.
func (s *Subscriptions) Get(ctx context.Context, id string) (SubscriptionRecord, error) {
	if id == "" || strings.HasPrefix(id, "user:") {
		return SubscriptionRecord{}, fault.New(fault.Gone, "UnknownSubscription", "no such subscription")
	}
	e, err := s.store.Get(ctx, SubscriptionTable, id, subRow)
	if errors.Is(err, tablestore.ErrNotFound) || errors.Is(err, tablestore.ErrInvalid) {
		return SubscriptionRecord{}, fault.New(fault.Gone, "UnknownSubscription", "no such subscription")
	}
	if err != nil {
		return SubscriptionRecord{}, err
	}
	return recordOf(e), nil
}

func recordOf(e tablestore.Entity) SubscriptionRecord {
	r := SubscriptionRecord{ID: e.PartitionKey, etag: e.ETag}
	r.User, _ = e.Properties["User"].(string)
	r.Tenant, _ = e.Properties["Tenant"].(string)
	r.Resource, _ = e.Properties["Resource"].(string)
	r.Expires, _ = e.Properties["Expires"].(time.Time)
	r.stateMAC, _ = e.Properties["StateMAC"].([]byte)
	return r
}

// ForUser lists a user's subscriptions.
func (s *Subscriptions) ForUser(ctx context.Context, user string) ([]SubscriptionRecord, error) {
	var out []SubscriptionRecord
	q := tablestore.Query{PartitionKey: userPartition(user)}
	for {
		p, err := s.store.Query(ctx, SubscriptionTable, q)
		if err != nil {
			return nil, err
		}
		for _, e := range p.Entities {
			r, err := s.Get(ctx, e.RowKey)
			if fault.Is(err, fault.Gone) {
				continue
			}
			if err != nil {
				return nil, err
			}
			out = append(out, r)
		}
		if p.Continuation == "" {
			return out, nil
		}
		q.Continuation = p.Continuation
	}
}

// Verify reports whether clientState is the one the subscription was created
// with, comparing HMACs in constant time.
func (s *Subscriptions) Verify(r SubscriptionRecord, clientState string) bool {
	return len(r.stateMAC) > 0 && hmac.Equal(r.stateMAC, s.mac(clientState))
}

// fromOwnersTenant reports whether a notification for r naming tenantID
// comes from the tenant of r's owner: the tenant recorded with r, else what
// Tenants says of the owner now.
func (s *Subscriptions) fromOwnersTenant(ctx context.Context, r SubscriptionRecord, tenantID string) (bool, error) {
	tenant := r.Tenant
	if tenant == "" {
		if s.tenants == nil {
			return true, nil // nothing to compare with: no Tenants, and a record without one
		}
		var err error
		if tenant, err = s.tenants(ctx, r.User); err != nil || tenant == "" {
			return false, err // "" : the owner has no mailbox connection any more
		}
	}
	return strings.EqualFold(tenantID, tenant), nil
}

// Renewer gives a Graph client for a user; the caller unseals the user's tokens.
type Renewer func(ctx context.Context, user string) (*Client, error)

// Renew extends every subscription expiring within RenewBefore of now, and
// recreates those Graph no longer knows. The scheduler calls it; it returns
// how many it renewed, goes on past per-user failures and reports the first.
func (s *Subscriptions) Renew(ctx context.Context, now time.Time) (int, error) {
	var firstErr error
	n := 0
	q := tablestore.Query{}
	for {
		p, err := s.store.Query(ctx, SubscriptionTable, q)
		if err != nil {
			return n, err
		}
		for _, e := range p.Entities {
			if e.RowKey != subRow {
				continue
			}
			r := recordOf(e)
			if r.Expires.After(now.Add(RenewBefore)) {
				continue
			}
			c, err := s.clients(ctx, r.User)
			if err == nil {
				err = s.renewOne(ctx, c, r, now)
			}
			if err != nil {
				if firstErr == nil {
					firstErr = err
				}
				continue
			}
			n++
		}
		if p.Continuation == "" {
			return n, firstErr
		}
		q.Continuation = p.Continuation
	}
}

// Reauthorize renews one subscription (lifecycle event reauthorizationRequired).
func (s *Subscriptions) Reauthorize(ctx context.Context, r SubscriptionRecord, now time.Time) error {
	c, err := s.clients(ctx, r.User)
	if err != nil {
		return err
	}
	return s.renewOne(ctx, c, r, now)
}

// Recreate replaces a subscription Graph removed (lifecycle event
// subscriptionRemoved).
func (s *Subscriptions) Recreate(ctx context.Context, r SubscriptionRecord, now time.Time) error {
	c, err := s.clients(ctx, r.User)
	if err != nil {
		return err
	}
	return s.recreate(ctx, c, r, now)
}

func (s *Subscriptions) renewOne(ctx context.Context, c *Client, r SubscriptionRecord, now time.Time) error {
	exp := now.Add(SubscriptionLifetime).UTC()
	var got wireSubscription
	err := c.sendJSON(ctx, http.MethodPatch, "subscriptions/"+r.ID, wireSubscription{ExpirationDateTime: exp.Format(time.RFC3339)}, &got)
	if fault.Is(err, fault.Gone) {
		return s.recreate(ctx, c, r, now)
	}
	if err != nil {
		return err
	}
	r.Expires = exp
	if t := parseInstant(got.ExpirationDateTime); !t.IsZero() {
		r.Expires = t
	}
	return s.put(ctx, r)
}

// recreate replaces a subscription Graph removed with a new one.
func (s *Subscriptions) recreate(ctx context.Context, c *Client, r SubscriptionRecord, now time.Time) error {
	if err := s.forget(ctx, r); err != nil {
		return err
	}
	_, err := s.create(ctx, c, r.User, r.Resource, now)
	return err
}

// Delete removes a user's subscriptions from Graph and from the table (for
// account deletion). Subscriptions Graph already dropped count as removed.
func (s *Subscriptions) Delete(ctx context.Context, c *Client, user string) error {
	recs, err := s.ForUser(ctx, user)
	if err != nil {
		return err
	}
	for _, r := range recs {
		err := c.sendJSON(ctx, http.MethodDelete, "subscriptions/"+r.ID, nil, nil)
		if err != nil && !fault.Is(err, fault.Gone) {
			return err
		}
		if err := s.forget(ctx, r); err != nil {
			return err
		}
	}
	return nil
}

func (s *Subscriptions) forget(ctx context.Context, r SubscriptionRecord) error {
	for _, k := range [][2]string{{r.ID, subRow}, {userPartition(r.User), r.ID}} {
		if err := s.store.Delete(ctx, SubscriptionTable, k[0], k[1], "*"); err != nil && !errors.Is(err, tablestore.ErrNotFound) {
			return err
		}
	}
	return nil
}

// Forget removes a user's subscription records without calling Graph (for
// account deletion when the user's tokens are already gone; Graph drops the
// subscriptions itself when they expire).
func (s *Subscriptions) Forget(ctx context.Context, user string) error {
	recs, err := s.ForUser(ctx, user)
	if err != nil {
		return err
	}
	for _, r := range recs {
		if err := s.forget(ctx, r); err != nil {
			return err
		}
	}
	return nil
}
