package sides

// Usage is the org's Salesforce API usage and daily limit as the last answer
// reported them (session.UsageReporter): the history page draws the org's
// API calls per day against that limit.
func (s crmSide) Usage() (used, limit int) { return s.client.Usage() }
