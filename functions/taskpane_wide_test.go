package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/shared/dashboard/browsertest"
)

// wideFields is how many custom fields the wide object has besides its
// Name (a real org allows up to 800 custom fields on an object).
const wideFields = 500

// addWideObject deploys Wide__c to the world's local Salesforce: 500
// fields, one of them (Region__c, far down) required, one a picklist.
func addWideObject(t testing.TB, w *testWorld) {
	t.Helper()
	var fields []string
	for i := 0; i < wideFields-2; i++ {
		fields = append(fields, fmt.Sprintf(`{"name":"F%03d__c","label":"Field %03d","type":"string","length":80}`, i, i))
	}
	fields = append(fields, `{"name":"Region__c","label":"Region","type":"string","length":40,"required":true}`,
		`{"name":"Tier__c","label":"Tier","type":"picklist","picklist":["Gold","Silver","Bronze"]}`)
	schema := `{"objects":[{"name":"Wide__c","label":"Wide","keyPrefix":"a9W","owned":true,"fields":[` + strings.Join(fields, ",") + `]}]}`
	if err := w.sf.AddCustomObjects([]byte(schema)); err != nil {
		t.Fatal(err)
	}
}

// openWideForm opens the create form of Wide__c in the pane.
func openWideForm(t testing.TB, b *browsertest.Browser) {
	t.Helper()
	openCreateForm(t, b, "Wide__c", `document.querySelector("#f-Region__c") && document.body.getAttribute("data-form-ms")`)
}

// wideDescribeBytes is the size of the add-in API's describe of Wide__c,
// fetched in the pane with its token.
func wideDescribeBytes(b *browsertest.Browser) int {
	return paneJS[int](b, `var x = new window.XMLHttpRequest(); x.open("GET", "/api/addin/objects/Wide__c", false);
		x.setRequestHeader("Authorization", "Bearer " + JSON.parse(window.sessionStorage.getItem("crmsync.taskpane.token")).token); x.send();
		return x.status === 200 ? x.responseText.length : -x.status`)
}

// TestTaskPaneWideObjectInHarness: the create form of an object with 500
// fields shows a bounded set within the pane's 350 px (40 fields, the
// required one first even though it is far down the describe) and says so;
// "Show all fields" brings the rest; the record is created with a field
// from the end. Opening the form again in the next item's pane fetches the
// describe neither from Salesforce nor from crmsync.
func TestTaskPaneWideObjectInHarness(t *testing.T) {
	w := taskPaneWorld(t)
	addWideObject(t, w)
	b := newPaneBrowser(t, w)
	b.Open("/api/taskpane/harness")
	signInThroughDialog(t, b, w)
	openWideForm(t, b)
	if got := paneJS[int](b, `return document.querySelectorAll("#record-form input, #record-form select, #record-form textarea").length`); got != 40 {
		t.Errorf("the wide form shows %d fields, want 40", got)
	}
	if got := paneJS[string](b, `return document.querySelector("#form-fields label").textContent`); got != "Region *" {
		t.Errorf("the form starts with %q, want the required Region", got)
	}
	if got := paneJS[string](b, `return document.getElementById("fields-shown").textContent`); !strings.HasPrefix(got, "Showing 40 of ") {
		t.Errorf("the form says %q", got)
	}
	if paneJS[bool](b, `return document.documentElement.scrollWidth > window.innerWidth`) {
		t.Error("the wide form overflows the pane")
	}
	// Create refuses the empty required field; then show all and fill the last.
	clickPane(b, "#save-record")
	waitPane(t, b, "the missing Region", `document.getElementById("problem").textContent.indexOf("Fill in Region first.") >= 0`)
	clickPane(b, "#all-fields")
	waitPane(t, b, "all the fields", `document.getElementById("f-F497__c")`)
	total := paneJS[int](b, `return document.querySelectorAll("#record-form input, #record-form select, #record-form textarea").length`)
	if total < wideFields {
		t.Errorf("all fields: %d shown, want at least %d", total, wideFields)
	}
	if paneJS[bool](b, `return !!document.getElementById("all-fields")`) {
		t.Error("Show all fields is still offered after showing them")
	}
	if paneJS[bool](b, `return document.documentElement.scrollWidth > window.innerWidth`) {
		t.Error("all the fields overflow the pane")
	}
	setPane(b, "#f-Name", "Widest")
	setPane(b, "#f-Region__c", "EMEA")
	setPane(b, "#f-F497__c", "the last")
	setPane(b, "#f-Tier__c", "Gold")
	paneJS[bool](b, `for (var i = 0; i < 50; i++) { var e = document.getElementById("f-F0" + (i < 10 ? "0" : "") + i + "__c"); e.value = "v" + i; } return true`)
	clickPane(b, "#save-record")
	waitPane(t, b, "the created record", `document.getElementById("status").textContent.indexOf("Wide created") >= 0 && document.querySelector("#record")`)
	// Its view shows 40 of its values, and says so.
	if got := paneJS[int](b, `return document.querySelectorAll("#record dt").length`); got != 40 {
		t.Errorf("the record shows %d fields, want 40", got)
	}
	if got := paneJS[string](b, `var e = document.getElementById("record-more"); return e ? e.textContent : ""`); !strings.HasPrefix(got, "Showing 40 of the ") {
		t.Errorf("the record's view says %q", got)
	}
	if n := countWhere(t, w, "Wide__c", "F049__c = 'v49' AND F000__c = 'v0'"); n != 1 {
		t.Errorf("%d Wide records with the values filled in, want 1", n)
	}
	if n := countWhere(t, w, "Wide__c", "Name = 'Widest' AND Region__c = 'EMEA' AND F497__c = 'the last' AND Tier__c = 'Gold'"); n != 1 {
		t.Errorf("%d Wide records as typed, want 1", n)
	}

	// The next item's pane: the describe comes from the pane's session.
	describes := w.sf.Calls()["describe"]
	b.Open("/api/taskpane/harness?item=meeting")
	openWideForm(t, b)
	if got := paneJS[int](b, `return window.performance.getEntriesByType("resource").filter(function (e) { return e.name.indexOf("/api/addin/objects/Wide__c") >= 0; }).length`); got != 0 {
		t.Errorf("the second form fetched the describe %d times", got)
	}
	if got := w.sf.Calls()["describe"]; got != describes {
		t.Errorf("Salesforce describe calls went from %d to %d", describes, got)
	}
	t.Logf("describe of Wide__c through the add-in API: %d bytes; Salesforce describe calls in all: %d", wideDescribeBytes(b), describes)
}

// BenchmarkTaskPaneWideForm opens the create form of the 500-field object
// in the pane and reports the add-in API's describe size, the bounded
// form's build time and the time to show all fields (ms, in Chromium).
func BenchmarkTaskPaneWideForm(bm *testing.B) {
	w := taskPaneWorld(bm)
	addWideObject(bm, w)
	b := newPaneBrowser(bm, w)
	b.Open("/api/taskpane/harness")
	signInThroughDialog(bm, b, w)
	openWideForm(bm, b)
	bytes := wideDescribeBytes(b)
	var form, all float64
	bm.ResetTimer()
	for i := 0; i < bm.N; i++ {
		b.Open("/api/taskpane/harness")
		openWideForm(bm, b)
		form += paneJS[float64](b, `return parseFloat(document.body.getAttribute("data-form-ms"))`)
		clickPane(b, "#all-fields")
		waitPane(bm, b, "all the fields", `document.body.getAttribute("data-all-fields-ms")`)
		all += paneJS[float64](b, `return parseFloat(document.body.getAttribute("data-all-fields-ms"))`)
	}
	bm.StopTimer()
	bm.ReportMetric(float64(bytes), "describe-bytes")
	bm.ReportMetric(form/float64(bm.N), "ms-form/op")
	bm.ReportMetric(all/float64(bm.N), "ms-all-fields/op")
}
