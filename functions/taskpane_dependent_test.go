package main

import (
	"strings"
	"testing"

	"github.com/crmsync/crmsync/shared/dashboard/browsertest"
)

// paneOptions lists a select's option values in the pane, "|"-joined.
func paneOptions(b *browsertest.Browser, sel string) string {
	return paneJS[string](b, `return Array.from(document.querySelectorAll(`+"`"+sel+` option`+"`"+`)).map(function(o){ return o.value; }).join("|")`)
}

// TestTaskPaneDependentPicklistsInHarness creates and edits a Case of the
// demo org, whose Product Detail depends on the Product Area picklist and
// Visit Window on the On-site Visit checkbox (validFor bit sets in the
// describe): the pane offers only the values valid for the controller's
// value, follows the controller when it changes, clears a choice the new
// value does not allow (saying so), starts the fields Salesforce defaults
// on create at their defaults, and what is saved reaches the local
// Salesforce.
func TestTaskPaneDependentPicklistsInHarness(t *testing.T) {
	w := taskPaneWorld(t)
	b := signedInHarness(t, w, "/api/taskpane/harness")
	openCreateForm(t, b, "Case", `document.querySelector("#f-Product_Detail__c")`)

	// Before a product area is chosen, no detail can be.
	if !paneJS[bool](b, `return document.getElementById("f-Product_Detail__c").disabled`) {
		t.Error("Product Detail is choosable before Product Area")
	}
	if got := paneJS[string](b, `return document.getElementById("hint-Product_Detail__c").textContent`); got != "Choose Product Area first." {
		t.Errorf("the hint before a product area: %q", got)
	}
	// Status and Priority are defaulted on create: the form starts at
	// their defaults (TestTaskPaneCreateStartsAtDefaultsInHarness).
	for f, want := range map[string]string{"Status": "New", "Priority": "Medium"} {
		if got := paneJS[string](b, `return document.getElementById("f-`+f+`").value`); got != want {
			t.Errorf("%s starts at %q, want %q", f, got, want)
		}
	}

	setPane(b, "#f-Product_Area__c", "Hardware")
	if got := paneOptions(b, "#f-Product_Detail__c"); got != "|Laptop|Server" {
		t.Errorf("for Hardware the details are %q", got)
	}
	setPane(b, "#f-Product_Detail__c", "Laptop")
	setPane(b, "#f-Product_Area__c", "Software")
	if got := paneOptions(b, "#f-Product_Detail__c"); got != "|Licence|Upgrade" {
		t.Errorf("for Software the details are %q", got)
	}
	if got := paneJS[string](b, `return document.getElementById("f-Product_Detail__c").value`); got != "" {
		t.Errorf("Laptop stayed chosen for Software: %q", got)
	}
	if got := paneJS[string](b, `return document.getElementById("err-Product_Detail__c").textContent`); !strings.Contains(got, "“Laptop” was cleared") || !strings.Contains(got, "Product Area is “Software”") {
		t.Errorf("the clearing is explained as %q", got)
	}
	setPane(b, "#f-Product_Detail__c", "Upgrade")

	// A checkbox controller: unchecked offers Remote only, checked the
	// visit times.
	if got := paneOptions(b, "#f-Visit_Window__c"); got != "|Remote only" {
		t.Errorf("unchecked, the windows are %q", got)
	}
	clickPane(b, "#f-Onsite_Visit__c")
	if got := paneOptions(b, "#f-Visit_Window__c"); got != "|Morning|Afternoon" {
		t.Errorf("checked, the windows are %q", got)
	}
	setPane(b, "#f-Visit_Window__c", "Morning")
	setPane(b, "#f-Subject", "Dependent picklists")
	clickPane(b, "#save-record")
	waitPane(t, b, "the created Case", `document.getElementById("status").textContent.indexOf("Case created") >= 0 && document.querySelector("#edit")`)
	if n := countWhere(t, w, "Case", "Subject = 'Dependent picklists' AND Product_Area__c = 'Software' AND Product_Detail__c = 'Upgrade' AND Onsite_Visit__c = true AND Visit_Window__c = 'Morning' AND Status = 'New' AND Priority = 'Medium'"); n != 1 {
		t.Fatalf("%d Cases as chosen (with the defaults), want 1", n)
	}

	// Editing: Upgrade is valid for Services too and stays; Hardware
	// clears it; unchecking the visit clears Morning.
	clickPane(b, "#edit")
	waitPane(t, b, "the Case edit form", `document.querySelector("#f-Product_Detail__c") && document.getElementById("f-Product_Detail__c").value === "Upgrade"`)
	setPane(b, "#f-Product_Area__c", "Services")
	if got := paneJS[string](b, `return document.getElementById("f-Product_Detail__c").value`); got != "Upgrade" {
		t.Errorf("Upgrade, valid for Services, became %q", got)
	}
	setPane(b, "#f-Product_Area__c", "Hardware")
	setPane(b, "#f-Product_Detail__c", "Server")
	clickPane(b, "#f-Onsite_Visit__c")
	if got := paneJS[string](b, `return document.getElementById("f-Visit_Window__c").value + "|" + document.getElementById("err-Visit_Window__c").textContent`); !strings.HasPrefix(got, "|“Morning” was cleared") {
		t.Errorf("after unchecking the visit: %q", got)
	}
	clickPane(b, "#save-record")
	waitPane(t, b, "the saved Case", `document.getElementById("status").textContent.indexOf("Saved") >= 0`)
	if n := countWhere(t, w, "Case", "Subject = 'Dependent picklists' AND Product_Area__c = 'Hardware' AND Product_Detail__c = 'Server' AND Onsite_Visit__c = false AND Visit_Window__c = null"); n != 1 {
		t.Fatalf("the edit reached %d Cases, want 1", n)
	}
	if paneJS[bool](b, `return document.documentElement.scrollWidth > window.innerWidth`) {
		t.Error("the pane overflows 350 px")
	}

	// A Case written elsewhere with a combination the controller does not
	// allow (the API does not refuse it): opening its edit form changes
	// nothing by itself; the value shows, marked, until the user changes
	// the controller.
	if _, err := w.sf.Insert(w.sfUser, "Case", map[string]any{"Subject": "Odd combination", "Product_Area__c": "Software", "Product_Detail__c": "Laptop"}); err != nil {
		t.Fatal(err)
	}
	setPane(b, "#search", "Odd combination")
	clickPane(b, "#search-go")
	waitPane(t, b, "the odd Case found", `document.querySelector("#hits li button[data-record]")`)
	clickPane(b, "#hits li button[data-record]")
	waitPane(t, b, "the odd Case", `document.querySelector("#edit")`)
	clickPane(b, "#edit")
	waitPane(t, b, "its edit form", `document.querySelector("#f-Product_Detail__c")`)
	if got := paneJS[string](b, `var s = document.getElementById("f-Product_Detail__c"); return s.value + "|" + s.options[s.selectedIndex].text`); got != "Laptop|Laptop (not offered when Product Area is “Software”)" {
		t.Errorf("the odd detail shows as %q", got)
	}
	setPane(b, "#f-Subject", "Odd combination, renamed")
	clickPane(b, "#save-record")
	waitPane(t, b, "the renamed Case", `document.querySelector("#record") && document.getElementById("view").innerText.indexOf("Odd combination, renamed") >= 0`)
	if n := countWhere(t, w, "Case", "Subject = 'Odd combination, renamed' AND Product_Detail__c = 'Laptop'"); n != 1 {
		t.Errorf("saving another field changed the odd detail (%d Cases kept it)", n)
	}
	if p := b.Problems(); len(p) > 0 {
		t.Errorf("browser problems: %v", p)
	}
}

// TestTaskPaneCreateStartsAtDefaultsInHarness creates a Case in the
// harness: the describe gives Status's default (New) and Priority's
// (Medium), so the form starts there instead of at a blank "Salesforce's
// default"; the blank stays choosable. Priority changed to High reaches the
// local Salesforce as High, Status left alone as New. A field without a
// fixed default (Case Origin) starts blank. The demo org's Send Survey
// checkbox starts checked; unchecked, it reaches Salesforce unchecked (left
// out of the create, Salesforce's default would have checked it again).
func TestTaskPaneCreateStartsAtDefaultsInHarness(t *testing.T) {
	w := taskPaneWorld(t)
	b := signedInHarness(t, w, "/api/taskpane/harness")
	openCreateForm(t, b, "Case", `document.querySelector("#f-Priority")`)

	selected := func(f string) string {
		return paneJS[string](b, `var s = document.getElementById("f-`+f+`"); return s.value + "|" + s.options[s.selectedIndex].text`)
	}
	for f, want := range map[string]string{"Status": "New|New", "Priority": "Medium|Medium", "Origin": "|—"} {
		if got := selected(f); got != want {
			t.Errorf("%s starts at %q, want %q", f, got, want)
		}
	}
	if got := paneOptions(b, "#f-Priority"); got != "|High|Medium|Low" {
		t.Errorf("Priority offers %q", got)
	}
	if got := paneJS[string](b, `return document.querySelector("#f-Status option[value='']").text`); got != "Salesforce's default" {
		t.Errorf("Status's blank reads %q, want Salesforce's default", got)
	}
	if !paneJS[bool](b, `return document.getElementById("f-Send_Survey__c").checked`) {
		t.Error("Send Survey starts unchecked; its default is checked")
	}
	setPane(b, "#f-Priority", "High")
	clickPane(b, "#f-Send_Survey__c")
	setPane(b, "#f-Subject", "Started at the defaults")
	clickPane(b, "#save-record")
	waitPane(t, b, "the created Case", `document.getElementById("status").textContent.indexOf("Case created") >= 0 && document.querySelector("#edit")`)
	if n := countWhere(t, w, "Case", "Subject = 'Started at the defaults' AND Status = 'New' AND Priority = 'High' AND Origin = null AND Send_Survey__c = false"); n != 1 {
		t.Fatalf("%d Cases with Status New, Priority High, no Origin, no survey; want 1", n)
	}
	if p := b.Problems(); len(p) > 0 {
		t.Errorf("browser problems: %v", p)
	}
}
