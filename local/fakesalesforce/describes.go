package fakesalesforce

// The standard objects crmsync reads and writes, with the field sets, types,
// labels and properties of a real org's describe (Salesforce Object Reference
// for each object, and field profiles of a real org; FIDELITY.md names the
// pages). Compound fields (MailingAddress, BillingAddress…) and
// multi-currency's CurrencyIsoCode are left out: crmsync never uses them and
// orgs without multi-currency have no CurrencyIsoCode.

// Field types the standard objects add to those in schema.go.
const (
	typeCombobox = "combobox"
)

// fieldOpt sets one property of a field declaration.
type fieldOpt func(*Field)

func fl(name, typ, label string, opts ...fieldOpt) Field {
	f := Field{Name: name, Type: typ, Label: label}
	for _, o := range opts {
		o(&f)
	}
	return f
}

func size(n int) fieldOpt { return func(f *Field) { f.Length = n } }

// ro: neither createable nor updateable (system, derived and formula fields).
func ro(f *Field) { f.ReadOnly = true }

// createOnly: createable, not updateable.
func createOnly(f *Field) { f.CreateOnly = true }

// required: nillable false and not defaulted, so a create must set it.
func required(f *Field) { f.Required = true }

// notNull: nillable false but defaulted or maintained by Salesforce.
func notNull(f *Field) { f.NotNull = true }

func def(v any) fieldOpt { return func(f *Field) { f.Default = v } }

func unique(f *Field) { f.Unique = true }

func autoNumber(f *Field) { f.AutoNumber, f.ReadOnly, f.NotNull = true, true, true }

func refTo(rel string, to ...string) fieldOpt {
	return func(f *Field) { f.RelationshipName, f.ReferenceTo = rel, to }
}

// pick makes a picklist's values; restricted picklists refuse others
// (INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST).
func pick(restricted bool, values ...string) fieldOpt {
	return func(f *Field) { f.Picklist, f.Restricted = values, restricted }
}

// system is the block every object starts with; owner is OwnerId's
// referenceTo (none for objects without an owner).
func system(idLabel string, owner ...string) []Field {
	fs := []Field{
		fl("Id", typeID, idLabel, ro, notNull),
		fl("IsDeleted", typeBoolean, "Deleted", ro, notNull),
	}
	if len(owner) > 0 {
		label := "Owner ID"
		if idLabel == "Activity ID" {
			label = "Assigned To ID"
		}
		fs = append(fs, fl("OwnerId", typeReference, label, notNull, refTo("Owner", owner...)))
	}
	return append(fs,
		fl("CreatedDate", typeDateTime, "Created Date", ro, notNull),
		fl("CreatedById", typeReference, "Created By ID", ro, notNull, refTo("CreatedBy", "User")),
		fl("LastModifiedDate", typeDateTime, "Last Modified Date", ro, notNull),
		fl("LastModifiedById", typeReference, "Last Modified By ID", ro, notNull, refTo("LastModifiedBy", "User")),
		fl("SystemModstamp", typeDateTime, "System Modstamp", ro, notNull),
	)
}

// timeZones are the values of the TimeZoneSidKey picklists (User,
// Event.RecurrenceTimeZoneSidKey): a subset of the ids Salesforce lists,
// which are IANA names plus GMT.
var timeZones = []string{
	"GMT", "Pacific/Kiritimati", "Pacific/Chatham", "Pacific/Auckland", "Pacific/Enderbury", "Pacific/Fiji",
	"Pacific/Tongatapu", "Asia/Kamchatka", "Australia/Lord_Howe", "Australia/Sydney", "Pacific/Guadalcanal",
	"Pacific/Norfolk", "Australia/Adelaide", "Australia/Brisbane", "Australia/Darwin", "Asia/Seoul", "Asia/Tokyo",
	"Asia/Hong_Kong", "Asia/Kuala_Lumpur", "Asia/Manila", "Asia/Shanghai", "Asia/Singapore", "Asia/Taipei",
	"Australia/Perth", "Asia/Bangkok", "Asia/Ho_Chi_Minh", "Asia/Jakarta", "Asia/Rangoon", "Asia/Dhaka",
	"Asia/Kathmandu", "Asia/Colombo", "Asia/Kolkata", "Asia/Karachi", "Asia/Tashkent", "Asia/Yekaterinburg",
	"Asia/Kabul", "Asia/Baku", "Asia/Dubai", "Asia/Tbilisi", "Asia/Yerevan", "Asia/Tehran", "Africa/Nairobi",
	"Asia/Baghdad", "Asia/Kuwait", "Asia/Riyadh", "Europe/Istanbul", "Europe/Minsk", "Europe/Moscow",
	"Africa/Cairo", "Africa/Johannesburg", "Asia/Beirut", "Asia/Jerusalem", "Europe/Athens", "Europe/Bucharest",
	"Europe/Helsinki", "Africa/Algiers", "Africa/Casablanca", "Europe/Amsterdam", "Europe/Berlin",
	"Europe/Brussels", "Europe/Paris", "Europe/Prague", "Europe/Rome", "Europe/Madrid", "Europe/Stockholm",
	"Europe/Vienna", "Europe/Warsaw", "Europe/Zurich", "Europe/Dublin", "Europe/Lisbon", "Europe/London",
	"Atlantic/Cape_Verde", "Atlantic/South_Georgia", "America/Sao_Paulo", "America/Argentina/Buenos_Aires",
	"America/St_Johns", "America/Halifax", "America/Puerto_Rico", "America/Santiago", "Atlantic/Bermuda",
	"America/Caracas", "America/Bogota", "America/Indiana/Indianapolis", "America/Lima", "America/New_York",
	"America/Panama", "America/Chicago", "America/El_Salvador", "America/Mexico_City", "America/Denver",
	"America/Mazatlan", "America/Phoenix", "America/Los_Angeles", "America/Tijuana", "America/Anchorage",
	"Pacific/Honolulu", "Pacific/Niue", "Pacific/Pago_Pago",
}

var leadSources = []string{"Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other"}

var industries = []string{"Agriculture", "Apparel", "Banking", "Biotechnology", "Chemicals", "Communications",
	"Construction", "Consulting", "Education", "Electronics", "Energy", "Engineering", "Entertainment",
	"Environmental", "Finance", "Food & Beverage", "Government", "Healthcare", "Hospitality", "Insurance",
	"Machinery", "Manufacturing", "Media", "Not For Profit", "Recreation", "Retail", "Shipping", "Technology",
	"Telecommunications", "Transportation", "Utilities", "Other"}

var salutations = []string{"Mr.", "Ms.", "Mrs.", "Dr.", "Prof.", "Mx."}

var ratings = []string{"Hot", "Warm", "Cold"}

func contactObject() Object {
	fs := append(system("Contact ID", "User"),
		fl("MasterRecordId", typeReference, "Master Record ID", ro, refTo("MasterRecord", "Contact")),
		fl("AccountId", typeReference, "Account ID", refTo("Account", "Account")),
		fl("LastName", typeString, "Last Name", required, size(80)),
		fl("FirstName", typeString, "First Name", size(40)),
		fl("Salutation", typePicklist, "Salutation", size(40), pick(false, salutations...)),
		fl("MiddleName", typeString, "Middle Name", size(40)),
		fl("Suffix", typeString, "Suffix", size(40)),
		fl("Name", typeString, "Full Name", ro, notNull, size(121)),
		fl("OtherStreet", typeTextArea, "Other Street", size(255)),
		fl("OtherCity", typeString, "Other City", size(40)),
		fl("OtherState", typeString, "Other State/Province", size(80)),
		fl("OtherPostalCode", typeString, "Other Zip/Postal Code", size(20)),
		fl("OtherCountry", typeString, "Other Country", size(80)),
		fl("MailingStreet", typeTextArea, "Mailing Street", size(255)),
		fl("MailingCity", typeString, "Mailing City", size(40)),
		fl("MailingState", typeString, "Mailing State/Province", size(80)),
		fl("MailingPostalCode", typeString, "Mailing Zip/Postal Code", size(20)),
		fl("MailingCountry", typeString, "Mailing Country", size(80)),
		fl("Phone", typePhone, "Business Phone", size(40)),
		fl("Fax", typePhone, "Business Fax", size(40)),
		fl("MobilePhone", typePhone, "Mobile Phone", size(40)),
		fl("HomePhone", typePhone, "Home Phone", size(40)),
		fl("OtherPhone", typePhone, "Other Phone", size(40)),
		fl("AssistantPhone", typePhone, "Asst. Phone", size(40)),
		fl("ReportsToId", typeReference, "Reports To ID", refTo("ReportsTo", "Contact")),
		fl("Email", typeEmail, "Email", size(80)),
		fl("Title", typeString, "Title", size(128)),
		fl("Department", typeString, "Department", size(80)),
		fl("AssistantName", typeString, "Assistant's Name", size(40)),
		fl("LeadSource", typePicklist, "Lead Source", size(40), pick(false, leadSources...)),
		fl("Birthdate", typeDate, "Birthdate"),
		fl("Description", typeTextArea, "Contact Description", size(32000)),
		fl("HasOptedOutOfEmail", typeBoolean, "Email Opt Out", notNull, def(false)),
		fl("HasOptedOutOfFax", typeBoolean, "Fax Opt Out", notNull, def(false)),
		fl("DoNotCall", typeBoolean, "Do Not Call", notNull, def(false)),
		fl("LastActivityDate", typeDate, "Last Activity", ro),
		fl("LastCURequestDate", typeDateTime, "Last Stay-in-Touch Request Date", ro),
		fl("LastCUUpdateDate", typeDateTime, "Last Stay-in-Touch Save Date", ro),
		fl("LastViewedDate", typeDateTime, "Last Viewed Date", ro),
		fl("LastReferencedDate", typeDateTime, "Last Referenced Date", ro),
		fl("EmailBouncedReason", typeString, "Email Bounced Reason", size(255)),
		fl("EmailBouncedDate", typeDateTime, "Email Bounced Date"),
		fl("IsEmailBounced", typeBoolean, "Is Email Bounced", ro, notNull, def(false)),
		fl("PhotoUrl", typeURL, "Photo URL", ro, size(255)),
		fl("Jigsaw", typeString, "Data.com Key", size(20)),
		fl("JigsawContactId", typeString, "Jigsaw Contact ID", ro, size(20)),
		fl("IndividualId", typeReference, "Individual ID", refTo("Individual", "Individual")),
		fl("ContactSource", typePicklist, "Contact Source", size(255), pick(false)),
		fl("TitleType", typePicklist, "Seniority Level", ro, size(255), pick(true, "ceo", "vp", "directorOrManager", "executive")),
		fl("DepartmentGroup", typePicklist, "Department Group", ro, size(255), pick(true)),
		fl("IsPriorityRecord", typeBoolean, "Important", notNull, def(false)),
	)
	return Object{Name: "Contact", Label: "Contact", LabelPlural: "Contacts", KeyPrefix: "003", Owned: true, Fields: fs, full: true}
}

func leadObject() Object {
	fs := append(system("Lead ID", "Group", "User"),
		fl("MasterRecordId", typeReference, "Master Record ID", ro, refTo("MasterRecord", "Lead")),
		fl("LastName", typeString, "Last Name", required, size(80)),
		fl("FirstName", typeString, "First Name", size(40)),
		fl("Salutation", typePicklist, "Salutation", size(40), pick(false, salutations...)),
		fl("MiddleName", typeString, "Middle Name", size(40)),
		fl("Suffix", typeString, "Suffix", size(40)),
		fl("Name", typeString, "Full Name", ro, notNull, size(121)),
		fl("Title", typeString, "Title", size(128)),
		fl("Company", typeString, "Company", required, size(255)),
		fl("Street", typeTextArea, "Street", size(255)),
		fl("City", typeString, "City", size(40)),
		fl("State", typeString, "State/Province", size(80)),
		fl("PostalCode", typeString, "Zip/Postal Code", size(20)),
		fl("Country", typeString, "Country", size(80)),
		fl("Phone", typePhone, "Phone", size(40)),
		fl("MobilePhone", typePhone, "Mobile Phone", size(40)),
		fl("Fax", typePhone, "Fax", size(40)),
		fl("Email", typeEmail, "Email", size(80)),
		fl("Website", typeURL, "Website", size(255)),
		fl("PhotoUrl", typeURL, "Photo URL", ro, size(255)),
		fl("Description", typeTextArea, "Description", size(32000)),
		fl("LeadSource", typePicklist, "Lead Source", size(40), pick(false, leadSources...)),
		fl("Status", typePicklist, "Status", notNull, size(40), def("Open - Not Contacted"),
			pick(true, "Open - Not Contacted", "Working - Contacted", "Closed - Converted", "Closed - Not Converted")),
		fl("Industry", typePicklist, "Industry", size(40), pick(false, industries...)),
		fl("Rating", typePicklist, "Rating", size(40), pick(false, ratings...)),
		fl("AnnualRevenue", typeCurrency, "Annual Revenue"),
		fl("NumberOfEmployees", typeInt, "Employees"),
		fl("HasOptedOutOfEmail", typeBoolean, "Email Opt Out", notNull, def(false)),
		fl("IsConverted", typeBoolean, "Converted", ro, notNull, def(false)),
		fl("ConvertedDate", typeDate, "Converted Date", ro),
		fl("ConvertedAccountId", typeReference, "Converted Account ID", ro, refTo("ConvertedAccount", "Account")),
		fl("ConvertedContactId", typeReference, "Converted Contact ID", ro, refTo("ConvertedContact", "Contact")),
		fl("ConvertedOpportunityId", typeReference, "Converted Opportunity ID", ro, refTo("ConvertedOpportunity", "Opportunity")),
		fl("IsUnreadByOwner", typeBoolean, "Unread By Owner", notNull, def(true)),
		fl("LastActivityDate", typeDate, "Last Activity", ro),
		fl("DoNotCall", typeBoolean, "Do Not Call", notNull, def(false)),
		fl("HasOptedOutOfFax", typeBoolean, "Fax Opt Out", notNull, def(false)),
		fl("LastViewedDate", typeDateTime, "Last Viewed Date", ro),
		fl("LastReferencedDate", typeDateTime, "Last Referenced Date", ro),
		fl("Jigsaw", typeString, "Data.com Key", size(20)),
		fl("JigsawContactId", typeString, "Jigsaw Contact ID", ro, size(20)),
		fl("EmailBouncedReason", typeString, "Email Bounced Reason", size(255)),
		fl("EmailBouncedDate", typeDateTime, "Email Bounced Date"),
		fl("IndividualId", typeReference, "Individual ID", refTo("Individual", "Individual")),
		fl("IsPriorityRecord", typeBoolean, "Important", notNull, def(false)),
	)
	return Object{Name: "Lead", Label: "Lead", LabelPlural: "Leads", KeyPrefix: "00Q", Owned: true, Fields: fs, full: true}
}

func accountObject() Object {
	address := func(prefix, label string) []Field {
		return []Field{
			fl(prefix+"Street", typeTextArea, label+" Street", size(255)),
			fl(prefix+"City", typeString, label+" City", size(40)),
			fl(prefix+"State", typeString, label+" State/Province", size(80)),
			fl(prefix+"PostalCode", typeString, label+" Zip/Postal Code", size(20)),
			fl(prefix+"Country", typeString, label+" Country", size(80)),
			fl(prefix+"Latitude", typeDouble, label+" Latitude"),
			fl(prefix+"Longitude", typeDouble, label+" Longitude"),
			fl(prefix+"GeocodeAccuracy", typePicklist, label+" Geocode Accuracy", size(40), pick(true, "Address", "NearAddress", "Block", "Street", "ExtendedZip", "Zip", "Neighborhood", "City", "County", "State", "Unknown")),
		}
	}
	fs := append(system("Account ID", "User"),
		fl("MasterRecordId", typeReference, "Master Record ID", ro, refTo("MasterRecord", "Account")),
		fl("Name", typeString, "Account Name", required, size(255)),
		fl("Type", typePicklist, "Account Type", size(255), pick(false, "Prospect", "Customer - Direct", "Customer - Channel", "Channel Partner / Reseller", "Installation Partner", "Technology Partner", "Other")),
		fl("ParentId", typeReference, "Parent Account ID", refTo("Parent", "Account")),
	)
	fs = append(fs, address("Billing", "Billing")...)
	fs = append(fs, address("Shipping", "Shipping")...)
	fs = append(fs,
		fl("Phone", typePhone, "Account Phone", size(40)),
		fl("Fax", typePhone, "Account Fax", size(40)),
		fl("AccountNumber", typeString, "Account Number", size(40)),
		fl("Website", typeURL, "Website", size(255)),
		fl("PhotoUrl", typeURL, "Photo URL", ro, size(255)),
		fl("Sic", typeString, "SIC Code", size(20)),
		fl("Industry", typePicklist, "Industry", size(255), pick(false, industries...)),
		fl("AnnualRevenue", typeCurrency, "Annual Revenue"),
		fl("NumberOfEmployees", typeInt, "Employees"),
		fl("Ownership", typePicklist, "Ownership", size(255), pick(false, "Public", "Private", "Subsidiary", "Other")),
		fl("TickerSymbol", typeString, "Ticker Symbol", size(20)),
		fl("Description", typeTextArea, "Account Description", size(32000)),
		fl("Rating", typePicklist, "Account Rating", size(255), pick(false, ratings...)),
		fl("Site", typeString, "Account Site", size(80)),
		fl("LastActivityDate", typeDate, "Last Activity", ro),
		fl("LastViewedDate", typeDateTime, "Last Viewed Date", ro),
		fl("LastReferencedDate", typeDateTime, "Last Referenced Date", ro),
		fl("Jigsaw", typeString, "Data.com Key", size(20)),
		fl("JigsawCompanyId", typeString, "Jigsaw Company ID", ro, size(20)),
		fl("AccountSource", typePicklist, "Account Source", size(255), pick(false, leadSources...)),
		fl("SicDesc", typeString, "SIC Description", size(80)),
		fl("IsPriorityRecord", typeBoolean, "Important", notNull, def(false)),
	)
	return Object{Name: "Account", Label: "Account", LabelPlural: "Accounts", KeyPrefix: "001", Owned: true, Fields: fs, full: true}
}

func opportunityObject() Object {
	fs := append(system("Opportunity ID", "User"),
		fl("AccountId", typeReference, "Account ID", refTo("Account", "Account")),
		fl("IsPrivate", typeBoolean, "Private", notNull, def(false)),
		fl("Name", typeString, "Name", required, size(120)),
		fl("Description", typeTextArea, "Description", size(32000)),
		fl("StageName", typePicklist, "Stage", required, size(255), pick(false, "Prospecting", "Qualification", "Needs Analysis",
			"Value Proposition", "Id. Decision Makers", "Perception Analysis", "Proposal/Price Quote", "Negotiation/Review", "Closed Won", "Closed Lost")),
		fl("Amount", typeCurrency, "Amount"),
		fl("Probability", typePercent, "Probability (%)"),
		fl("ExpectedRevenue", typeCurrency, "Expected Amount", ro),
		fl("TotalOpportunityQuantity", typeDouble, "Quantity"),
		fl("CloseDate", typeDate, "Close Date", required),
		fl("Type", typePicklist, "Opportunity Type", size(255), pick(false, "Existing Customer - Upgrade", "Existing Customer - Replacement", "Existing Customer - Downgrade", "New Customer")),
		fl("NextStep", typeString, "Next Step", size(255)),
		fl("LeadSource", typePicklist, "Lead Source", size(255), pick(false, leadSources...)),
		fl("IsClosed", typeBoolean, "Closed", ro, notNull, def(false)),
		fl("IsWon", typeBoolean, "Won", ro, notNull, def(false)),
		fl("ForecastCategory", typePicklist, "Forecast Category", ro, notNull, size(40), pick(true, "Omitted", "Pipeline", "BestCase", "Forecast", "Closed")),
		fl("ForecastCategoryName", typePicklist, "Forecast Category", size(255), pick(true, "Omitted", "Pipeline", "Best Case", "Commit", "Closed")),
		fl("CampaignId", typeReference, "Campaign ID", refTo("Campaign", "Campaign")),
		fl("HasOpportunityLineItem", typeBoolean, "Has Line Item", ro, notNull, def(false)),
		fl("Pricebook2Id", typeReference, "Price Book ID", refTo("Pricebook2", "Pricebook2")),
		fl("LastActivityDate", typeDate, "Last Activity", ro),
		fl("PushCount", typeInt, "Push Count", ro),
		fl("LastStageChangeDate", typeDateTime, "Last Stage Change Date", ro),
		fl("FiscalQuarter", typeInt, "Fiscal Quarter", ro),
		fl("FiscalYear", typeInt, "Fiscal Year", ro),
		fl("Fiscal", typeString, "Fiscal Period", ro, size(6)),
		fl("ContactId", typeReference, "Contact ID", refTo("Contact", "Contact")),
		fl("LastViewedDate", typeDateTime, "Last Viewed Date", ro),
		fl("LastReferencedDate", typeDateTime, "Last Referenced Date", ro),
		fl("HasOpenActivity", typeBoolean, "Has Open Activity", ro, notNull, def(false)),
		fl("HasOverdueTask", typeBoolean, "Has Overdue Task", ro, notNull, def(false)),
		fl("IsPriorityRecord", typeBoolean, "Important", notNull, def(false)),
	)
	return Object{Name: "Opportunity", Label: "Opportunity", LabelPlural: "Opportunities", KeyPrefix: "006", Owned: true, Fields: fs, full: true}
}

func caseObject() Object {
	fs := append(system("Case ID", "Group", "User"),
		fl("MasterRecordId", typeReference, "Master Record ID", ro, refTo("MasterRecord", "Case")),
		fl("CaseNumber", typeString, "Case Number", autoNumber, size(30)),
		fl("ContactId", typeReference, "Contact ID", refTo("Contact", "Contact")),
		fl("AccountId", typeReference, "Account ID", refTo("Account", "Account")),
		fl("AssetId", typeReference, "Asset ID", refTo("Asset", "Asset")),
		fl("ParentId", typeReference, "Parent Case ID", refTo("Parent", "Case")),
		fl("SuppliedName", typeString, "Name", size(80)),
		fl("SuppliedEmail", typeEmail, "Email Address", size(80)),
		fl("SuppliedPhone", typeString, "Phone", size(40)),
		fl("SuppliedCompany", typeString, "Company", size(80)),
		fl("Type", typePicklist, "Case Type", size(255), pick(false, "Mechanical", "Electrical", "Electronic", "Structural", "Other")),
		fl("Status", typePicklist, "Status", notNull, size(255), def("New"), pick(false, "New", "Working", "Escalated", "Closed")),
		fl("Reason", typePicklist, "Case Reason", size(255), pick(false, "Installation", "Equipment Complexity", "Performance", "Breakdown", "Equipment Design", "Feedback", "Other")),
		fl("Origin", typePicklist, "Case Origin", size(255), pick(false, "Phone", "Email", "Web")),
		fl("Subject", typeString, "Subject", size(255)),
		fl("Priority", typePicklist, "Priority", size(255), def("Medium"), pick(false, "High", "Medium", "Low")),
		fl("Description", typeTextArea, "Description", size(32000)),
		fl("IsClosed", typeBoolean, "Closed", ro, notNull, def(false)),
		fl("ClosedDate", typeDateTime, "Closed Date", ro),
		fl("IsEscalated", typeBoolean, "Escalated", notNull, def(false)),
		fl("ContactPhone", typePhone, "Contact Phone", ro, size(40)),
		fl("ContactMobile", typePhone, "Contact Mobile", ro, size(40)),
		fl("ContactEmail", typeEmail, "Contact Email", ro, size(80)),
		fl("ContactFax", typePhone, "Contact Fax", ro, size(40)),
		fl("Comments", typeTextArea, "Internal Comments", size(4000)),
		fl("LastViewedDate", typeDateTime, "Last Viewed Date", ro),
		fl("LastReferencedDate", typeDateTime, "Last Referenced Date", ro),
	)
	return Object{Name: "Case", Label: "Case", LabelPlural: "Cases", KeyPrefix: "500", Owned: true, Fields: fs, full: true}
}

// activityWho and activityWhat are the polymorphic references of tasks and
// events.
var activityWhat = []string{"Account", "Asset", "Campaign", "Case", "Contract", "Opportunity", "Order", "Product2", "Quote", "Solution"}

var taskStatuses = []string{"Not Started", "In Progress", "Completed", "Waiting on someone else", "Deferred"}

func taskObject() Object {
	fs := append(system("Activity ID", "Group", "User"),
		fl("WhoId", typeReference, "Name ID", refTo("Who", "Contact", "Lead")),
		fl("WhatId", typeReference, "Related To ID", refTo("What", activityWhat...)),
		fl("WhoCount", typeInt, "Relation Count", ro),
		fl("WhatCount", typeInt, "Related To Count", ro),
		fl("Subject", typeCombobox, "Subject", size(255), pick(false, "Call", "Send Letter", "Send Quote", "Other")),
		fl("ActivityDate", typeDate, "Due Date Only"),
		fl("Status", typePicklist, "Status", notNull, size(40), def("Not Started"), pick(true, taskStatuses...)),
		fl("Priority", typePicklist, "Priority", notNull, size(40), def("Normal"), pick(true, "High", "Normal", "Low")),
		fl("IsHighPriority", typeBoolean, "High Priority", ro, notNull, def(false)),
		fl("Type", typePicklist, "Type", size(40), pick(false, "Call", "Email", "Meeting", "Other")),
		fl("IsVisibleInSelfService", typeBoolean, "Visible in Self-Service", notNull, def(false)),
		fl("AccountId", typeReference, "Account ID", ro, refTo("Account", "Account")),
		fl("IsClosed", typeBoolean, "Closed", ro, notNull, def(false)),
		fl("IsArchived", typeBoolean, "Archived", ro, notNull, def(false)),
		fl("CallDurationInSeconds", typeInt, "Call Duration"),
		fl("CallType", typePicklist, "Call Type", size(40), pick(true, "Internal", "Inbound", "Outbound")),
		fl("CallDisposition", typeString, "Call Result", size(255)),
		fl("CallObject", typeString, "Call Object Identifier", size(255)),
		fl("ReminderDateTime", typeDateTime, "Reminder Date/Time"),
		fl("IsReminderSet", typeBoolean, "Reminder Set", notNull, def(false)),
		fl("Description", typeTextArea, "Comments", size(32000)),
		fl("RecurrenceActivityId", typeReference, "Recurrence Activity ID", ro, refTo("RecurrenceActivity", "Task")),
		fl("IsRecurrence", typeBoolean, "Create Recurring Series of Tasks", createOnly, notNull, def(false)),
		fl("TaskSubtype", typePicklist, "Task Subtype", createOnly, size(40), def("Task"), pick(true, "Task", "Email", "ListEmail", "Cadence", "Call", "LinkedIn")),
		fl("CompletedDateTime", typeDateTime, "Completed Date/Time", ro),
	)
	return Object{Name: "Task", Label: "Task", LabelPlural: "Tasks", KeyPrefix: "00T", Owned: true, Fields: fs, full: true}
}

func eventObject() Object {
	fs := append(system("Activity ID", "Calendar", "User"),
		fl("WhoId", typeReference, "Name ID", refTo("Who", "Contact", "Lead")),
		fl("WhatId", typeReference, "Related To ID", refTo("What", activityWhat...)),
		fl("WhoCount", typeInt, "Relation Count", ro),
		fl("WhatCount", typeInt, "Related To Count", ro),
		fl("Subject", typeCombobox, "Subject", size(255), pick(false, "Call", "Email", "Meeting", "Send Letter/Quote", "Other")),
		fl("Location", typeString, "Location", size(255)),
		fl("IsAllDayEvent", typeBoolean, "All-Day Event", notNull, def(false)),
		fl("ActivityDateTime", typeDateTime, "Due Date Time"),
		fl("ActivityDate", typeDate, "Due Date Only"),
		fl("DurationInMinutes", typeInt, "Duration"),
		fl("StartDateTime", typeDateTime, "Start Date Time"),
		fl("EndDateTime", typeDateTime, "End Date Time"),
		fl("EndDate", typeDate, "End Date", ro),
		fl("Description", typeTextArea, "Description", size(32000)),
		fl("AccountId", typeReference, "Account ID", ro, refTo("Account", "Account")),
		fl("Type", typePicklist, "Type", size(40), pick(false, "Call", "Email", "Meeting", "Other")),
		fl("IsPrivate", typeBoolean, "Private", notNull, def(false)),
		fl("ShowAs", typePicklist, "Show Time As", size(40), def("Busy"), pick(true, "Busy", "OutOfOffice", "Free")),
		fl("IsChild", typeBoolean, "Is Child", ro, notNull, def(false)),
		fl("IsGroupEvent", typeBoolean, "Is Group Event", ro, notNull, def(false)),
		fl("GroupEventType", typePicklist, "Group Event Type", ro, size(40), pick(true, "0", "1", "2", "3")),
		fl("IsArchived", typeBoolean, "Archived", ro, notNull, def(false)),
		fl("RecurrenceActivityId", typeReference, "Recurrence Activity ID", ro, refTo("RecurrenceActivity", "Event")),
		fl("IsRecurrence", typeBoolean, "Create Recurring Series of Events", createOnly, notNull, def(false)),
		fl("RecurrenceStartDateTime", typeDateTime, "Recurrence Begins"),
		fl("RecurrenceEndDateOnly", typeDate, "Recurrence Ends"),
		fl("RecurrenceTimeZoneSidKey", typePicklist, "Recurrence Time Zone", size(40), pick(true, timeZones...)),
		fl("RecurrenceType", typePicklist, "Recurrence Pattern", size(40), pick(true, "RecursDaily", "RecursEveryWeekday", "RecursMonthly", "RecursMonthlyNth", "RecursWeekly", "RecursYearly", "RecursYearlyNth")),
		fl("RecurrenceInterval", typeInt, "Recurrence Interval"),
		fl("RecurrenceDayOfWeekMask", typeInt, "Recurrence Day of Week Mask"),
		fl("RecurrenceDayOfMonth", typeInt, "Recurrence Day of Month"),
		fl("RecurrenceInstance", typePicklist, "Recurrence Instance", size(40), pick(true, "First", "Second", "Third", "Fourth", "Last")),
		fl("RecurrenceMonthOfYear", typePicklist, "Recurrence Month of Year", size(40), pick(true, "January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December")),
		fl("ReminderDateTime", typeDateTime, "Reminder Date/Time"),
		fl("IsReminderSet", typeBoolean, "Reminder Set", notNull, def(false)),
		fl("EventSubtype", typePicklist, "Event Subtype", createOnly, size(40), def("Event"), pick(true, "Event")),
		fl("IsRecurrence2Exclusion", typeBoolean, "Historical Event, Not Following Recurrence", ro, notNull, def(false)),
		fl("Recurrence2PatternText", typeTextArea, "Recurrence Pattern", size(1024)),
		fl("Recurrence2PatternVersion", typePicklist, "Pattern Version", size(40), pick(true, "1")),
		fl("IsRecurrence2", typeBoolean, "Repeat", createOnly, notNull, def(false)),
		fl("IsRecurrence2Exception", typeBoolean, "Is Exception", ro, notNull, def(false)),
		fl("ActivityRecurrence2Id", typeReference, "Activity Recurrence 2 ID", ro, refTo("ActivityRecurrence2", "ActivityRecurrence2")),
		fl("Recurrence2PatternStartDate", typeDateTime, "Recurrence Pattern Start Date", ro),
		fl("Recurrence2PatternTimeZone", typeString, "Recurrence Pattern Time Zone Reference", ro, size(255)),
	)
	return Object{Name: "Event", Label: "Event", LabelPlural: "Events", KeyPrefix: "00U", Owned: true, Fields: fs, full: true}
}

func userObject() Object {
	fs := append(system("User ID")[:2],
		fl("Username", typeString, "Username", required, unique, size(80)),
		fl("LastName", typeString, "Last Name", required, size(80)),
		fl("FirstName", typeString, "First Name", size(40)),
		fl("MiddleName", typeString, "Middle Name", size(40)),
		fl("Suffix", typeString, "Suffix", size(40)),
		fl("Name", typeString, "Full Name", ro, notNull, size(121)),
		fl("CompanyName", typeString, "Company Name", size(80)),
		fl("Division", typeString, "Division", size(80)),
		fl("Department", typeString, "Department", size(80)),
		fl("Title", typeString, "Title", size(80)),
		fl("Street", typeTextArea, "Street", size(255)),
		fl("City", typeString, "City", size(40)),
		fl("State", typeString, "State/Province", size(80)),
		fl("PostalCode", typeString, "Zip/Postal Code", size(20)),
		fl("Country", typeString, "Country", size(80)),
		fl("Email", typeEmail, "Email", required, size(128)),
		fl("SenderEmail", typeEmail, "Email Sender Address", size(80)),
		fl("SenderName", typeString, "Email Sender Name", size(80)),
		fl("Signature", typeTextArea, "Email Signature", size(1333)),
		fl("Phone", typePhone, "Phone", size(40)),
		fl("Fax", typePhone, "Fax", size(40)),
		fl("MobilePhone", typePhone, "Mobile", size(40)),
		fl("Alias", typeString, "Alias", required, size(8)),
		fl("CommunityNickname", typeString, "Nickname", size(40)),
		fl("IsActive", typeBoolean, "Active", notNull, def(true)),
		fl("TimeZoneSidKey", typePicklist, "Time Zone", notNull, size(40), def("GMT"), pick(true, timeZones...)),
		fl("UserRoleId", typeReference, "Role ID", refTo("UserRole", "UserRole")),
		fl("LocaleSidKey", typePicklist, "Locale", notNull, size(40), def("en_US"), pick(true, "en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "ja_JP", "nl_NL", "pt_BR")),
		fl("ReceivesInfoEmails", typeBoolean, "Info Emails", notNull, def(false)),
		fl("EmailEncodingKey", typePicklist, "Email Encoding", notNull, size(40), def("UTF-8"), pick(true, "UTF-8", "ISO-8859-1", "Shift_JIS", "ISO-2022-JP", "EUC-JP", "ks_c_5601-1987", "Big5", "GB2312")),
		fl("ProfileId", typeReference, "Profile ID", refTo("Profile", "Profile")),
		fl("UserType", typePicklist, "User Type", ro, size(40), def("Standard"), pick(true, "Standard", "PowerPartner", "CSPLitePortal", "CustomerSuccess", "PowerCustomerSuccess", "CsnOnly", "Guest")),
		fl("LanguageLocaleKey", typePicklist, "Language", notNull, size(40), def("en_US"), pick(true, "en_US", "de", "es", "fr", "it", "ja", "nl_NL", "pt_BR")),
		fl("EmployeeNumber", typeString, "Employee Number", size(20)),
		fl("ManagerId", typeReference, "Manager ID", refTo("Manager", "User")),
		fl("LastLoginDate", typeDateTime, "Last Login", ro),
	)
	fs = append(fs, system("User ID")[2:]...)
	return Object{Name: "User", Label: "User", LabelPlural: "Users", KeyPrefix: "005", Fields: fs, full: true}
}
