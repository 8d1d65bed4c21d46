package salesforce

import (
	"regexp"
	"strings"
)

// Salesforce's error messages carry record content. A query error echoes the
// whole SOQL, filter values and e-mail addresses included ("\nSELECT Id FROM
// Contact WHERE Email = 'ada@example.com' AND Bogus__c = 1\n ^\nERROR at
// Row:1:Column:52\nNo such column 'Bogus__c' on entity 'Contact'…"), and
// per-record errors quote the value they refused ("Email: invalid email
// address: ada@@example.com", "data value too large: <the text>"). Every
// message is cleaned here, once, where errors are classified, before it can
// reach a log, an issue or the dashboard: what is left names the problem and
// the fields, never a value.

// echoLine is the "ERROR at Row:r:Column:c" line that follows an echoed query.
var echoLine = regexp.MustCompile(`(?m)^ERROR at Row:\d+:Column:\d+\s*$`)

// emailAddress matches anything shaped like an address.
var emailAddress = regexp.MustCompile(`[A-Za-z0-9._%+'\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*`)

// quoted finds single-quoted text and the word before it.
var quoted = regexp.MustCompile(`(?i)(\b[a-z]+\s+)?'([^'\n]*)'`)

// nameWords introduce a quoted API name, which may stay ("No such column
// 'Bogus__c' on entity 'Contact'", "sObject type 'Foo__c' is not supported").
var nameWords = map[string]bool{"column": true, "entity": true, "relationship": true, "type": true, "field": true,
	"fields": true, "sobject": true, "object": true, "function": true}

// valueAfter are the phrases after which Salesforce prints the refused value.
var valueAfter = regexp.MustCompile(`(?i)(data value too large|bad value for restricted picklist field|invalid email address|id value of incorrect type|invalid cross reference id|invalid id|unexpected token|invalid date(?:time)?|value not of required type)(\s*:\s*)[^\n(]*`)

// soqlText spots an echoed query that came without its ERROR line (upper
// case, as crmsync writes its queries, so that a validation rule's "select a
// value from the list" is not taken for one).
var soqlText = regexp.MustCompile(`\bSELECT\b[\s\S]+\bFROM\b`)

// cleanMessage returns a Salesforce error message without the values it
// quotes: the echoed query is cut off, addresses and quoted values are
// replaced, API names kept.
func cleanMessage(msg string) string {
	if loc := echoLine.FindStringIndex(msg); loc != nil {
		msg = strings.TrimSpace(msg[loc[1]:])
	}
	if soqlText.MatchString(msg) {
		return "the query was refused (Salesforce's message quotes it and is not kept)"
	}
	msg = valueAfter.ReplaceAllString(msg, "${1}${2}[value] ")
	msg = quoted.ReplaceAllStringFunc(msg, func(m string) string {
		sub := quoted.FindStringSubmatch(m)
		if nameWords[strings.ToLower(strings.TrimSpace(sub[1]))] && validPath(sub[2]) || sub[2] == "__c" || sub[2] == "__r" {
			return m
		}
		return sub[1] + "'[value]'"
	})
	msg = emailAddress.ReplaceAllString(msg, "[address]")
	return strings.TrimSpace(strings.Join(strings.Fields(msg), " "))
}

// validPath accepts an API name or a relationship path (Account.Name).
func validPath(s string) bool {
	for _, part := range strings.Split(s, ".") {
		if !validName(part) {
			return false
		}
	}
	return s != ""
}
