package tracking

import (
	"net/netip"
	"strings"
	"time"
)

// Kind says who most likely fetched the pixel.
type Kind string

// The kinds of open.
const (
	// Human: a person's mail client displayed the message.
	Human Kind = "human"
	// Proxy: a mail provider's image proxy fetched the pixel when a person
	// opened the message (Gmail, Yahoo); the open is real but the client's
	// place is hidden.
	Proxy Kind = "proxy"
	// Machine: no person saw the message — a privacy prefetcher, a link
	// scanner, a HEAD probe or an automated client.
	Machine Kind = "machine"
)

// Client classes.
const (
	ClientOutlookDesktop = "outlook-desktop"
	ClientOutlookMobile  = "outlook-mobile"
	ClientAppleMail      = "apple-mail"
	ClientGmail          = "gmail"
	ClientYahoo          = "yahoo"
	ClientThunderbird    = "thunderbird"
	ClientBrowser        = "browser"
	ClientScanner        = "scanner"
	ClientOther          = "other"
)

// Hit is one pixel request, as far as classification needs it. IP is used
// in memory only and never stored.
type Hit struct {
	Method    string
	UserAgent string
	IP        netip.Addr
	// Sent is when the token was minted (the add-in mints it as the message
	// is sent); At is when the pixel was fetched.
	Sent, At time.Time
}

// Verdict is what Classify concludes.
type Verdict struct {
	Client string `json:"client"`
	Kind   Kind   `json:"kind"`
	// Reason names the rule that decided a Proxy or Machine verdict.
	Reason string `json:"reason,omitempty"`
}

// Networks are address ranges that identify machine fetchers.
type Networks struct {
	// Apple are Apple Mail Privacy Protection's fetchers. Apple fetches
	// remote content through its own range 17.0.0.0/8 (and, for some
	// users, iCloud Private Relay egress ranges, which Apple publishes and
	// operators may add here).
	Apple []netip.Prefix
	// Scanners are link-scanning services' ranges (Microsoft Defender for
	// Office 365, Mimecast, Proofpoint…), which operators add from the
	// vendors' published lists; none are built in.
	Scanners []netip.Prefix
}

// DefaultNetworks holds the ranges crmsync ships: Apple's 17.0.0.0/8.
func DefaultNetworks() Networks {
	return Networks{Apple: []netip.Prefix{netip.MustParsePrefix("17.0.0.0/8")}}
}

// DefaultPrefetchWindow is how soon after sending an open counts as a
// prefetch: no person opens a message within seconds of its being sent, but
// gateways and privacy proxies fetch images on delivery.
const DefaultPrefetchWindow = 10 * time.Second

// scannerAgents are user-agent fragments of link and attachment scanners,
// lower case, with the product named in the reason.
var scannerAgents = []struct{ fragment, name string }{
	{"mimecast", "mimecast"},
	{"proofpoint", "proofpoint"},
	{"ppops-", "proofpoint"},
	{"barracuda", "barracuda"},
	{"safelinks", "microsoft-safe-links"},
	{"safe links", "microsoft-safe-links"},
	{"microsoft defender", "microsoft-defender"},
	{"msdefender", "microsoft-defender"},
	{"microsoft office existence discovery", "microsoft-office-link-probe"},
	{"microsoft office protocol discovery", "microsoft-office-link-probe"},
	{"symantec", "symantec"},
	{"messagelabs", "symantec"},
	{"forcepoint", "forcepoint"},
	{"sophos", "sophos"},
	{"trendmicro", "trend-micro"},
	{"trend micro", "trend-micro"},
	{"ironport", "cisco-ironport"},
	{"fireeye", "fireeye"},
	{"zscaler", "zscaler"},
	{"hornetsecurity", "hornetsecurity"},
}

// automatedAgents are fragments of HTTP libraries, crawlers and headless
// browsers; no person reads mail with them.
var automatedAgents = []string{
	"curl/", "wget/", "python-requests", "python-urllib", "go-http-client", "java/", "okhttp", "libwww-perl",
	"headlesschrome", "phantomjs", "bot", "crawler", "spider", "scanner", "preview", "facebookexternalhit",
	"slackbot", "discordbot",
}

// Classify decides who fetched the pixel. The rules, first match wins:
//  1. A HEAD request is a probe (scanners check links without fetching).
//  2. A user agent naming a scanning product (Mimecast, Proofpoint,
//     Barracuda, Microsoft Safe Links/Defender, Office link probes, …), or
//     an address in a scanner network, is a link scanner.
//  3. An empty user agent, an HTTP library, a crawler or a headless browser
//     is an automated client.
//  4. Apple Mail Privacy Protection: an address in Apple's ranges, or the
//     bare user agent "Mozilla/5.0" with nothing after it, which is what
//     Apple's proxy sends. Such a fetch happens when the message reaches
//     the device, whether or not anyone reads it.
//  5. Gmail's GoogleImageProxy and Yahoo's YahooMailProxy fetch on a real
//     open: a Proxy open — unless within the prefetch window (rule 6).
//  6. A fetch within prefetch of sending is a prefetch by a gateway.
//  7. Anything else is a person.
func Classify(h Hit, nets Networks, prefetch time.Duration) Verdict {
	ua := strings.TrimSpace(h.UserAgent)
	lower := strings.ToLower(ua)
	client := clientOf(ua, lower)
	if h.Method == "HEAD" {
		return Verdict{Client: client, Kind: Machine, Reason: "head-request"}
	}
	for _, s := range scannerAgents {
		if strings.Contains(lower, s.fragment) {
			return Verdict{Client: ClientScanner, Kind: Machine, Reason: "link-scanner:" + s.name}
		}
	}
	if inAny(h.IP, nets.Scanners) {
		return Verdict{Client: ClientScanner, Kind: Machine, Reason: "link-scanner-network"}
	}
	if ua == "" {
		return Verdict{Client: ClientOther, Kind: Machine, Reason: "no-user-agent"}
	}
	for _, a := range automatedAgents {
		if strings.Contains(lower, a) && !strings.Contains(lower, "googleimageproxy") && !strings.Contains(lower, "yahoomailproxy") {
			return Verdict{Client: ClientOther, Kind: Machine, Reason: "automated-client"}
		}
	}
	if ua == "Mozilla/5.0" || inAny(h.IP, nets.Apple) {
		return Verdict{Client: ClientAppleMail, Kind: Machine, Reason: "apple-mail-privacy-protection"}
	}
	early := !h.Sent.IsZero() && h.At.Sub(h.Sent) < prefetch
	if early {
		return Verdict{Client: client, Kind: Machine, Reason: "prefetch"}
	}
	switch client {
	case ClientGmail:
		return Verdict{Client: client, Kind: Proxy, Reason: "gmail-image-proxy"}
	case ClientYahoo:
		return Verdict{Client: client, Kind: Proxy, Reason: "yahoo-mail-proxy"}
	}
	return Verdict{Client: client, Kind: Human}
}

// clientOf names the client class a user agent belongs to. Outlook for
// Mac and Apple Mail both send a bare WebKit user agent and cannot be told
// apart; both count as apple-mail.
func clientOf(ua, lower string) string {
	switch {
	case strings.Contains(lower, "googleimageproxy"):
		return ClientGmail
	case strings.Contains(lower, "yahoomailproxy"):
		return ClientYahoo
	case strings.Contains(lower, "outlook-ios"), strings.Contains(lower, "outlook-android"):
		return ClientOutlookMobile
	case strings.Contains(lower, "microsoft outlook"), strings.Contains(lower, "msoffice"), strings.Contains(lower, "ms-office"):
		return ClientOutlookDesktop
	case strings.Contains(lower, "thunderbird"):
		return ClientThunderbird
	case ua == "Mozilla/5.0":
		return ClientAppleMail
	case strings.Contains(ua, "AppleWebKit") && (strings.Contains(ua, "Macintosh") || strings.Contains(ua, "iPhone") || strings.Contains(ua, "iPad")) &&
		!strings.Contains(ua, "Safari/") && !strings.Contains(ua, "Chrome/") && !strings.Contains(ua, "Edg/"):
		return ClientAppleMail
	case strings.Contains(ua, "Chrome/"), strings.Contains(ua, "Firefox/"), strings.Contains(ua, "Safari/"), strings.Contains(ua, "Edg/"):
		return ClientBrowser
	}
	return ClientOther
}

func inAny(ip netip.Addr, nets []netip.Prefix) bool {
	if !ip.IsValid() {
		return false
	}
	ip = ip.Unmap()
	for _, p := range nets {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}
