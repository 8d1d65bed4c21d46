package salesforce

import "encoding/json"

// Vendor JSON shapes, as Salesforce sends and accepts them.

// wireError is one element of a REST error body (a JSON array).
type wireError struct {
	Message   string   `json:"message"`
	ErrorCode string   `json:"errorCode"`
	Fields    []string `json:"fields"`
	// DuplicateResult comes with DUPLICATES_DETECTED.
	DuplicateResult *wireDuplicateResult `json:"duplicateResult"`
}

// wireDuplicateResult is Salesforce's DuplicateResult: the rule that fired
// and, per matching rule, the existing records that matched with a diff of
// each compared field (difference SAME, DIFFERENT or NULL).
type wireDuplicateResult struct {
	AllowSave               bool   `json:"allowSave"`
	DuplicateRule           string `json:"duplicateRule"`
	DuplicateRuleEntityType string `json:"duplicateRuleEntityType"`
	ErrorMessage            string `json:"errorMessage"`
	MatchResults            []struct {
		EntityType   string `json:"entityType"`
		Rule         string `json:"rule"`
		MatchRecords []struct {
			FieldDiffs []struct {
				Name       string `json:"name"`
				Difference string `json:"difference"`
			} `json:"fieldDiffs"`
			Record Record `json:"record"`
		} `json:"matchRecords"`
	} `json:"matchResults"`
}

// wireOAuthError is the OAuth error body.
type wireOAuthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

// wireVersion is one entry of GET /services/data/.
type wireVersion struct {
	Version string `json:"version"`
	URL     string `json:"url"`
	Label   string `json:"label"`
}

// wireQuery is a query or queryAll batch.
type wireQuery struct {
	TotalSize      int               `json:"totalSize"`
	Done           bool              `json:"done"`
	NextRecordsURL string            `json:"nextRecordsUrl"`
	Records        []json.RawMessage `json:"records"`
}

// wireUpdated is GET /sobjects/{T}/updated/.
type wireUpdated struct {
	IDs               []string `json:"ids"`
	LatestDateCovered string   `json:"latestDateCovered"`
}

// wireDeleted is GET /sobjects/{T}/deleted/.
type wireDeleted struct {
	DeletedRecords []struct {
		ID          string `json:"id"`
		DeletedDate string `json:"deletedDate"`
	} `json:"deletedRecords"`
	EarliestDateAvailable string `json:"earliestDateAvailable"`
	LatestDateCovered     string `json:"latestDateCovered"`
}

// wireSaveResult is a create result or one sObject Collections result; in
// collections the error key is statusCode, not errorCode.
type wireSaveResult struct {
	ID      *string           `json:"id"`
	Success bool              `json:"success"`
	Errors  []wireRecordError `json:"errors"`
}

type wireRecordError struct {
	StatusCode string   `json:"statusCode"`
	Message    string   `json:"message"`
	Fields     []string `json:"fields"`
	// DuplicateResult comes with DUPLICATES_DETECTED.
	DuplicateResult *wireDuplicateResult `json:"duplicateResult"`
}

// wireCollection is the body of a collections create or update.
type wireCollection struct {
	AllOrNone bool  `json:"allOrNone"`
	Records   []any `json:"records"`
}

// wireDescribeGlobal is GET /sobjects/.
type wireDescribeGlobal struct {
	Encoding     string `json:"encoding"`
	MaxBatchSize int    `json:"maxBatchSize"`
	SObjects     []struct {
		Name          string `json:"name"`
		Label         string `json:"label"`
		KeyPrefix     string `json:"keyPrefix"`
		Custom        bool   `json:"custom"`
		Queryable     bool   `json:"queryable"`
		Createable    bool   `json:"createable"`
		Updateable    bool   `json:"updateable"`
		Deletable     bool   `json:"deletable"`
		Replicateable bool   `json:"replicateable"`
		Searchable    bool   `json:"searchable"`
	} `json:"sobjects"`
}

// wireDescribe is GET /sobjects/{T}/describe.
type wireDescribe struct {
	Name          string `json:"name"`
	Label         string `json:"label"`
	KeyPrefix     string `json:"keyPrefix"`
	Custom        bool   `json:"custom"`
	Createable    bool   `json:"createable"`
	Updateable    bool   `json:"updateable"`
	Deletable     bool   `json:"deletable"`
	Queryable     bool   `json:"queryable"`
	Replicateable bool   `json:"replicateable"`
	Fields        []struct {
		Name             string   `json:"name"`
		Type             string   `json:"type"`
		Label            string   `json:"label"`
		Length           int      `json:"length"`
		Createable       bool     `json:"createable"`
		Updateable       bool     `json:"updateable"`
		Nillable         bool     `json:"nillable"`
		Custom           bool     `json:"custom"`
		Filterable       bool     `json:"filterable"`
		ReferenceTo      []string `json:"referenceTo"`
		RelationshipName *string  `json:"relationshipName"`
		PicklistValues   []struct {
			Value  string `json:"value"`
			Label  string `json:"label"`
			Active bool   `json:"active"`
			// ValidFor is a dependent value's controlling values (base64
			// bit set); null otherwise.
			ValidFor *string `json:"validFor"`
			// DefaultValue marks the picklist's default entry.
			DefaultValue bool `json:"defaultValue"`
		} `json:"picklistValues"`
		RestrictedPicklist bool    `json:"restrictedPicklist"`
		DefaultedOnCreate  bool    `json:"defaultedOnCreate"`
		DependentPicklist  bool    `json:"dependentPicklist"`
		ControllerName     *string `json:"controllerName"`

		// DefaultValue is the field's default, typed as the field is
		// (true, 23, "Yes!"), or null; DefaultValueFormula is a default
		// given as a formula ("'New'", "TRUE", "TODAY()"), or null.
		DefaultValue        json.RawMessage `json:"defaultValue"`
		DefaultValueFormula *string         `json:"defaultValueFormula"`
	} `json:"fields"`
}

// wireListViews is GET /sobjects/{T}/listviews.
type wireListViews struct {
	Listviews []struct {
		ID             string `json:"id"`
		DeveloperName  string `json:"developerName"`
		Label          string `json:"label"`
		SoqlCompatible bool   `json:"soqlCompatible"`
	} `json:"listviews"`
	Done bool `json:"done"`
	Size int  `json:"size"`
}

// wireListViewDescribe is GET /sobjects/{T}/listviews/{id}/describe.
type wireListViewDescribe struct {
	ID          string  `json:"id"`
	Query       string  `json:"query"`
	Scope       *string `json:"scope"`
	SObjectType string  `json:"sobjectType"`
}

// wireListViewResults is GET /sobjects/{T}/listviews/{id}/results.
type wireListViewResults struct {
	DeveloperName string `json:"developerName"`
	Done          bool   `json:"done"`
	ID            string `json:"id"`
	Label         string `json:"label"`
	Size          int    `json:"size"`
	Records       []struct {
		Columns []struct {
			FieldNameOrPath string  `json:"fieldNameOrPath"`
			Value           *string `json:"value"`
		} `json:"columns"`
	} `json:"records"`
}

// wireSearch is a SOSL or parameterized search answer (current shape; very
// old versions answered a bare array, which decodeSearch also accepts).
type wireSearch struct {
	SearchRecords []json.RawMessage `json:"searchRecords"`
}

// wireComposite is the body of POST /composite.
type wireComposite struct {
	AllOrNone          bool             `json:"allOrNone"`
	CollateSubrequests bool             `json:"collateSubrequests"`
	CompositeRequest   []wireSubrequest `json:"compositeRequest"`
}

type wireSubrequest struct {
	Method      string `json:"method"`
	URL         string `json:"url"`
	ReferenceID string `json:"referenceId"`
	Body        any    `json:"body,omitempty"`
}

type wireCompositeResponse struct {
	CompositeResponse []struct {
		Body           json.RawMessage   `json:"body"`
		HTTPHeaders    map[string]string `json:"httpHeaders"`
		HTTPStatusCode int               `json:"httpStatusCode"`
		ReferenceID    string            `json:"referenceId"`
	} `json:"compositeResponse"`
}

// wireFeedElement is the body and answer of POST /chatter/feed-elements.
type wireFeedElement struct {
	ID              string `json:"id,omitempty"`
	FeedElementType string `json:"feedElementType"`
	SubjectID       string `json:"subjectId,omitempty"`
	Body            struct {
		MessageSegments []wireSegment `json:"messageSegments"`
	} `json:"body"`
}

type wireSegment struct {
	Type string `json:"type"`
	Text string `json:"text,omitempty"`
	ID   string `json:"id,omitempty"`
}

// wireLimits is GET /limits (the part crmsync reads).
type wireLimits struct {
	DailyAPIRequests struct {
		Max       int `json:"Max"`
		Remaining int `json:"Remaining"`
	} `json:"DailyApiRequests"`
}
