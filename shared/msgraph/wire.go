package msgraph

import "encoding/json"

// This file holds the JSON shapes Microsoft Graph sends and accepts. Unknown
// properties in responses are ignored on purpose: Graph adds properties
// without notice, and a strict decoder would break on the next release.

// wireError is Graph's error envelope.
type wireError struct {
	Error struct {
		Code       string `json:"code"`
		Message    string `json:"message"`
		InnerError *struct {
			Code      string `json:"code,omitempty"`
			RequestID string `json:"request-id,omitempty"`
		} `json:"innerError,omitempty"`
	} `json:"error"`
}

// wirePage is one page of a collection or a delta round.
type wirePage struct {
	Value     []json.RawMessage `json:"value"`
	NextLink  string            `json:"@odata.nextLink,omitempty"`
	DeltaLink string            `json:"@odata.deltaLink,omitempty"`
}

// wireRemoved marks a delta entry as a removal.
type wireRemoved struct {
	Reason string `json:"reason"`
}

// wireExtProp is a single-value extended property.
type wireExtProp struct {
	ID    string `json:"id"`
	Value string `json:"value"`
}

// wireEmail is an emailAddress of a contact or a recipient.
type wireEmail struct {
	Name    string `json:"name,omitempty"`
	Address string `json:"address"`
}

// wireRecipient wraps an e-mail address on messages and events.
type wireRecipient struct {
	EmailAddress wireEmail `json:"emailAddress"`
}

// wireAddress is a physicalAddress.
type wireAddress struct {
	Street          string `json:"street,omitempty"`
	City            string `json:"city,omitempty"`
	State           string `json:"state,omitempty"`
	PostalCode      string `json:"postalCode,omitempty"`
	CountryOrRegion string `json:"countryOrRegion,omitempty"`
}

// wireContact is a contact as Graph reports it.
type wireContact struct {
	ID                   string        `json:"id"`
	ChangeKey            string        `json:"changeKey,omitempty"`
	LastModifiedDateTime string        `json:"lastModifiedDateTime,omitempty"`
	ParentFolderID       string        `json:"parentFolderId,omitempty"`
	GivenName            string        `json:"givenName,omitempty"`
	Surname              string        `json:"surname,omitempty"`
	EmailAddresses       []wireEmail   `json:"emailAddresses,omitempty"`
	BusinessPhones       []string      `json:"businessPhones,omitempty"`
	MobilePhone          *string       `json:"mobilePhone,omitempty"`
	JobTitle             *string       `json:"jobTitle,omitempty"`
	Department           *string       `json:"department,omitempty"`
	BusinessAddress      *wireAddress  `json:"businessAddress,omitempty"`
	Categories           []string      `json:"categories,omitempty"`
	ExtProps             []wireExtProp `json:"singleValueExtendedProperties,omitempty"`
	Removed              *wireRemoved  `json:"@removed,omitempty"`
}

// wireDateTimeTZ is a dateTimeTimeZone.
type wireDateTimeTZ struct {
	DateTime string `json:"dateTime"`
	TimeZone string `json:"timeZone"`
}

// wireBody is an itemBody.
type wireBody struct {
	ContentType string `json:"contentType"`
	Content     string `json:"content"`
}

// wireLocation is an event location.
type wireLocation struct {
	DisplayName string `json:"displayName"`
}

// wireAttendee is an event attendee.
type wireAttendee struct {
	EmailAddress wireEmail `json:"emailAddress"`
	Type         string    `json:"type,omitempty"`
}

// wirePattern is a recurrencePattern.
type wirePattern struct {
	Type           string   `json:"type"`
	Interval       int      `json:"interval"`
	DaysOfWeek     []string `json:"daysOfWeek,omitempty"`
	DayOfMonth     int      `json:"dayOfMonth,omitempty"`
	Month          int      `json:"month,omitempty"`
	FirstDayOfWeek string   `json:"firstDayOfWeek,omitempty"`
	Index          string   `json:"index,omitempty"`
}

// wireRange is a recurrenceRange.
type wireRange struct {
	Type                string `json:"type"`
	StartDate           string `json:"startDate"`
	EndDate             string `json:"endDate,omitempty"`
	NumberOfOccurrences int    `json:"numberOfOccurrences,omitempty"`
	RecurrenceTimeZone  string `json:"recurrenceTimeZone,omitempty"`
}

// wireRecurrence is a patternedRecurrence.
type wireRecurrence struct {
	Pattern wirePattern `json:"pattern"`
	Range   wireRange   `json:"range"`
}

// wireEvent is an event (single instance, occurrence, exception or series master).
type wireEvent struct {
	ID                   string          `json:"id"`
	ChangeKey            string          `json:"changeKey,omitempty"`
	LastModifiedDateTime string          `json:"lastModifiedDateTime,omitempty"`
	Subject              *string         `json:"subject,omitempty"`
	Body                 *wireBody       `json:"body,omitempty"`
	Start                *wireDateTimeTZ `json:"start,omitempty"`
	End                  *wireDateTimeTZ `json:"end,omitempty"`
	IsAllDay             *bool           `json:"isAllDay,omitempty"`
	Location             *wireLocation   `json:"location,omitempty"`
	Attendees            []wireAttendee  `json:"attendees,omitempty"`
	Type                 string          `json:"type,omitempty"`
	SeriesMasterID       string          `json:"seriesMasterId,omitempty"`
	OriginalStart        string          `json:"originalStart,omitempty"`
	OccurrenceID         string          `json:"occurrenceId,omitempty"`
	OriginalStartTZ      string          `json:"originalStartTimeZone,omitempty"`
	Recurrence           *wireRecurrence `json:"recurrence,omitempty"`
	IsCancelled          bool            `json:"isCancelled,omitempty"`
	IsOrganizer          *bool           `json:"isOrganizer,omitempty"`
	Organizer            *wireRecipient  `json:"organizer,omitempty"`
	ResponseStatus       *struct {
		Response string `json:"response"`
	} `json:"responseStatus,omitempty"`
	IsOnlineMeeting *bool `json:"isOnlineMeeting,omitempty"`
	OnlineMeeting   *struct {
		JoinURL string `json:"joinUrl"`
	} `json:"onlineMeeting,omitempty"`
	OnlineMeetingURL string        `json:"onlineMeetingUrl,omitempty"`
	Categories       []string      `json:"categories,omitempty"`
	ExtProps         []wireExtProp `json:"singleValueExtendedProperties,omitempty"`
	Removed          *wireRemoved  `json:"@removed,omitempty"`
}

// wireLinkedResource ties a To Do task to an application's record; To Do has
// no extended properties, so crmsync keeps its marker here.
type wireLinkedResource struct {
	ID              string `json:"id,omitempty"`
	ApplicationName string `json:"applicationName"`
	DisplayName     string `json:"displayName,omitempty"`
	ExternalID      string `json:"externalId"`
	WebURL          string `json:"webUrl,omitempty"`
}

// wireTask is a To Do task.
type wireTask struct {
	ID                   string               `json:"id"`
	LastModifiedDateTime string               `json:"lastModifiedDateTime,omitempty"`
	ETag                 string               `json:"@odata.etag,omitempty"`
	Title                *string              `json:"title,omitempty"`
	Status               string               `json:"status,omitempty"`
	Importance           string               `json:"importance,omitempty"`
	Body                 *wireBody            `json:"body,omitempty"`
	DueDateTime          *wireDateTimeTZ      `json:"dueDateTime,omitempty"`
	Categories           []string             `json:"categories,omitempty"`
	LinkedResources      []wireLinkedResource `json:"linkedResources,omitempty"`
	Removed              *wireRemoved         `json:"@removed,omitempty"`
}

// wireMessage is a mail message.
type wireMessage struct {
	ID                   string          `json:"id"`
	ChangeKey            string          `json:"changeKey,omitempty"`
	LastModifiedDateTime string          `json:"lastModifiedDateTime,omitempty"`
	ReceivedDateTime     string          `json:"receivedDateTime,omitempty"`
	SentDateTime         string          `json:"sentDateTime,omitempty"`
	Subject              string          `json:"subject,omitempty"`
	Body                 *wireBody       `json:"body,omitempty"`
	From                 *wireRecipient  `json:"from,omitempty"`
	ToRecipients         []wireRecipient `json:"toRecipients,omitempty"`
	CcRecipients         []wireRecipient `json:"ccRecipients,omitempty"`
	ParentFolderID       string          `json:"parentFolderId,omitempty"`
	InternetMessageID    string          `json:"internetMessageId,omitempty"`
	HasAttachments       bool            `json:"hasAttachments,omitempty"`
	Categories           []string        `json:"categories,omitempty"`
	ExtProps             []wireExtProp   `json:"singleValueExtendedProperties,omitempty"`
	Removed              *wireRemoved    `json:"@removed,omitempty"`
}

// wireAttachment is a file (or item) attachment without its content.
type wireAttachment struct {
	ODataType   string `json:"@odata.type,omitempty"`
	ID          string `json:"id"`
	Name        string `json:"name"`
	ContentType string `json:"contentType"`
	Size        int64  `json:"size"`
	IsInline    bool   `json:"isInline"`
}

// wireFolder is a contact folder, mail folder or To Do list (displayName is
// the common key).
type wireFolder struct {
	ID          string `json:"id,omitempty"`
	DisplayName string `json:"displayName"`
}

// wireCategory is an entry of the master category list.
type wireCategory struct {
	ID          string `json:"id,omitempty"`
	DisplayName string `json:"displayName"`
	Color       string `json:"color,omitempty"`
}

// wireUser is the part of a user profile the client reads.
type wireUser struct {
	ID                string `json:"id"`
	Mail              string `json:"mail"`
	UserPrincipalName string `json:"userPrincipalName"`
}

// wireBatchRequest is one part of a JSON batch.
type wireBatchRequest struct {
	ID        string            `json:"id"`
	Method    string            `json:"method"`
	URL       string            `json:"url"`
	DependsOn []string          `json:"dependsOn,omitempty"`
	Headers   map[string]string `json:"headers,omitempty"`
	Body      json.RawMessage   `json:"body,omitempty"`
}

// wireBatch is a JSON batch request.
type wireBatch struct {
	Requests []wireBatchRequest `json:"requests"`
}

// wireBatchResponse is one part of a JSON batch response.
type wireBatchResponse struct {
	ID      string            `json:"id"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    json.RawMessage   `json:"body,omitempty"`
}

// wireBatchResult is a JSON batch response.
type wireBatchResult struct {
	Responses []wireBatchResponse `json:"responses"`
}

// wireSubscription is a change-notification subscription.
type wireSubscription struct {
	ID                        string `json:"id,omitempty"`
	ChangeType                string `json:"changeType,omitempty"`
	NotificationURL           string `json:"notificationUrl,omitempty"`
	LifecycleNotificationURL  string `json:"lifecycleNotificationUrl,omitempty"`
	Resource                  string `json:"resource,omitempty"`
	ExpirationDateTime        string `json:"expirationDateTime"`
	ClientState               string `json:"clientState,omitempty"`
	LatestSupportedTLSVersion string `json:"latestSupportedTlsVersion,omitempty"`
}

// wireNotification is one change or lifecycle notification.
type wireNotification struct {
	SubscriptionID                 string `json:"subscriptionId"`
	SubscriptionExpirationDateTime string `json:"subscriptionExpirationDateTime,omitempty"`
	ClientState                    string `json:"clientState"`
	ChangeType                     string `json:"changeType,omitempty"`
	LifecycleEvent                 string `json:"lifecycleEvent,omitempty"`
	Resource                       string `json:"resource,omitempty"`
	TenantID                       string `json:"tenantId,omitempty"`
	ResourceData                   *struct {
		ODataType string `json:"@odata.type,omitempty"`
		ODataID   string `json:"@odata.id,omitempty"`
		ID        string `json:"id,omitempty"`
	} `json:"resourceData,omitempty"`
}

// wireNotifications is a notification delivery.
type wireNotifications struct {
	Value []wireNotification `json:"value"`
}
