package item

// Canonical field names. Adapters map them to and from their own fields (see
// their mapping tables); values are normalized strings:
//   - dates "2006-01-02"; instants RFC 3339 in UTC ("2006-01-02T15:04:05Z");
//   - booleans "true" / "false";
//   - e-mail addresses lower case; lists comma-separated, sorted, no spaces.
const (
	// Contact fields.
	FirstName         = "FirstName"
	LastName          = "LastName"
	Email             = "Email"
	Phone             = "Phone"
	MobilePhone       = "MobilePhone"
	Title             = "Title"
	Department        = "Department"
	MailingStreet     = "MailingStreet"
	MailingCity       = "MailingCity"
	MailingState      = "MailingState"
	MailingPostalCode = "MailingPostalCode"
	MailingCountry    = "MailingCountry"
	// Company is a Lead's company (Leads require it).
	Company = "Company"

	// Shared by tasks, events and e-mails.
	Subject     = "Subject"
	Description = "Description"

	// Task fields. Status is one of NotStarted, InProgress, Completed, Waiting,
	// Deferred; Priority one of Low, Normal, High.
	DueDate  = "DueDate"
	Status   = "Status"
	Priority = "Priority"

	// Event fields. Recurrence is an RFC 5545 RRULE value without "RRULE:"
	// ("FREQ=WEEKLY;INTERVAL=1;BYDAY=MO,WE;UNTIL=20270101T000000Z"), "" for a
	// single event. An exception to a series carries SeriesID (the series'
	// record ID on the same side) and OriginalStart. With AllDay "true",
	// Start and End are dates, not instants: midnight UTC of the first day
	// and of the day after the last (exclusive), whatever zone the event was
	// made in — an all-day event on 10 August is "2026-08-10T00:00:00Z" to
	// "2026-08-11T00:00:00Z" from UTC−12 to UTC+14. Sides read and write them
	// as dates (Salesforce: IsAllDayEvent with ActivityDate; Graph: isAllDay
	// with midnight start and end), never converting them between zones.
	//
	// Cancelled is a series' cancelled (deleted) occurrences, like RFC 5545's
	// EXDATE;VALUE=DATE: the original dates ("2006-01-02", in the series'
	// own time zone), sorted, comma-separated, "" for none. A date, not an
	// instant, because the two sides may keep one series in different zones
	// (Salesforce in the user's, the mailbox in UTC), whose instants part
	// across a daylight-saving change while the dates agree; each supported
	// pattern has at most one meeting a day. Only series carry it, and only
	// for the dates within the scope's window (a side reads no further). A
	// write cancels the meetings named and never brings one back: a
	// cancelled meeting cannot be restored on either side.
	//
	// TimeZone is the IANA zone a series keeps its wall-clock times in
	// ("Europe/Berlin", "UTC"), "" for a single event or an exception: a
	// weekly 09:00 meeting stays at 09:00 there across a daylight-saving
	// change, so the sides write a series in it where they can (the
	// mailbox), or keep it in the user's own zone (Salesforce).
	Start         = "Start"
	End           = "End"
	AllDay        = "AllDay"
	Location      = "Location"
	Attendees     = "Attendees"
	Recurrence    = "Recurrence"
	SeriesID      = "SeriesID"
	OriginalStart = "OriginalStart"
	Cancelled     = "Cancelled"
	TimeZone      = "TimeZone"

	// Meeting fields the mailbox reports and never takes back: Organizer is
	// the organizer's address; Invitation is "true" for an event someone
	// else organized (the user's copy of their meeting), whose organizer
	// fields (subject, times, location, body, recurrence, attendees) crmsync
	// never writes; Response is the user's answer to it (none, organizer,
	// tentativelyAccepted, accepted, declined, notResponded).
	Organizer  = "Organizer"
	Invitation = "Invitation"
	Response   = "Response"

	// E-mail fields (messages shared into the CRM). Direction is Inbound or
	// Outbound; Sent is an instant.
	From      = "From"
	To        = "To"
	Cc        = "Cc"
	Sent      = "Sent"
	Direction = "Direction"
	// MessageID is the e-mail's Internet message id (RFC 5322 Message-ID),
	// the same in every mailbox and folder that holds a copy. It only ever
	// reaches storage as a keyed fingerprint.
	MessageID = "MessageID"
)

// EmailFields lists the canonical fields of a shared e-mail (kind
// SharedEmail), as the mailbox reads a message and the engine hands it to the
// CRM's LogEmail unchanged. A CRM adapter maps each one or says why not: a
// field missing from its mapping is dropped silently on the way.
var EmailFields = []string{Subject, Description, From, To, Cc, Sent, Direction}

// DefaultFields lists the canonical fields synced two-way for each kind.
var DefaultFields = map[Kind][]string{
	Contact: {FirstName, LastName, Email, Phone, MobilePhone, Title, Department,
		MailingStreet, MailingCity, MailingState, MailingPostalCode, MailingCountry},
	Task:  {Subject, DueDate, Status, Priority, Description},
	Event: {Subject, Start, End, AllDay, Location, Description, Recurrence, Cancelled, TimeZone},
}
