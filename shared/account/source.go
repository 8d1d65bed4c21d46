package account

import (
	"context"
	"slices"
	"strings"

	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/reconcile"
	"github.com/crmsync/crmsync/shared/schedule"
	"github.com/crmsync/crmsync/shared/session"
)

// UserSettings maps a user's stored settings to what a session needs
// (session.SettingsSource): policies, scopes, the fingerprint key, the plan's
// record cap, and e-mail sharing with the user's own address and domain from
// the profile, so their own domain never becomes Leads.
func (a *Accounts) UserSettings(ctx context.Context, user string) (session.UserSettings, error) {
	s, err := a.Settings(ctx, user)
	if err != nil {
		return session.UserSettings{}, err
	}
	key, err := a.FingerprintKey(ctx, user)
	if err != nil {
		return session.UserSettings{}, err
	}
	us := session.UserSettings{
		Policies:        map[item.Kind]reconcile.Policy{},
		ContactListView: s.ContactListView,
		PastDays:        s.PastDays,
		FutureDays:      s.FutureDays,
		FingerprintKey:  key,
		MaxRecords:      schedule.Plans[s.Plan].MaxRecords,
		Calendars:       slices.Clone(s.Calendars),
		Email: session.EmailSettings{
			Enabled:       s.Email.Enabled,
			CreateLeads:   s.Email.CreateLeads,
			SkipFreeMail:  s.Email.SkipFreeMail,
			OwnDomains:    append([]string(nil), s.Email.OwnDomains...),
			ShareCategory: s.Email.ShareCategory,
			Folder:        s.Email.Folder,
		},
	}
	// Items are shared by the deployment's CRM's category unless the user
	// chose one (a C4C deployment's users tag "SAP C4C", not "Salesforce").
	if cat := a.d.CRM.DefaultShareCategory(); cat != "" {
		if us.Email.ShareCategory == "" {
			us.Email.ShareCategory = cat
		}
		policies := make(map[item.Kind]reconcile.Policy, len(item.Kinds))
		for k, p := range s.Policies {
			policies[k] = p
		}
		for _, k := range item.Kinds {
			if p := policies[k]; p.ShareCategory == "" {
				p.ShareCategory = cat
				policies[k] = p
			}
		}
		s.Policies = policies
	}
	for k, p := range s.Policies {
		us.Policies[k] = p
	}
	for k, list := range s.Custom {
		us.Policies[k] = s.SyncPolicy(k)
		if us.Custom == nil {
			us.Custom = map[item.Kind][]item.CustomField{}
		}
		us.Custom[k] = slices.Clone(list)
	}
	if us.PastDays == 0 {
		us.PastDays = 14
	}
	if us.FutureDays == 0 {
		us.FutureDays = 28
	}
	// The profile row alone: the roles Profile adds are not a session's business.
	email, err := a.email(ctx, user)
	if err != nil {
		return session.UserSettings{}, err
	}
	if email != "" {
		us.Email.OwnAddress = email
		if at := strings.LastIndexByte(email, '@'); at >= 0 {
			d := email[at+1:]
			if !contains(us.Email.OwnDomains, d) {
				us.Email.OwnDomains = append(us.Email.OwnDomains, d)
			}
		}
	}
	return us, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

var _ session.SettingsSource = (*Accounts)(nil)
