package tracking

import (
	"net/netip"
	"testing"
	"time"
)

func TestClassify(t *testing.T) {
	sent := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	later := sent.Add(2 * time.Hour)
	home := netip.MustParseAddr("203.0.113.7")
	tests := []struct {
		name   string
		method string
		ua     string
		ip     netip.Addr
		at     time.Time
		want   Verdict
	}{
		{"outlook desktop windows", "GET", "Mozilla/4.0 (compatible; ms-office; MSOffice 16)", home, later,
			Verdict{Client: ClientOutlookDesktop, Kind: Human}},
		{"outlook classic with word engine", "GET", "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17928; Pro)", home, later,
			Verdict{Client: ClientOutlookDesktop, Kind: Human}},
		{"outlook ios", "GET", "Outlook-iOS/723.4027091.prod.iphone (4.2.1)", home, later,
			Verdict{Client: ClientOutlookMobile, Kind: Human}},
		{"new outlook / outlook on the web (edge)", "GET", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0", home, later,
			Verdict{Client: ClientBrowser, Kind: Human}},
		{"apple mail on mac", "GET", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)", home, later,
			Verdict{Client: ClientAppleMail, Kind: Human}},
		{"apple mail on iphone", "GET", "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148", home, later,
			Verdict{Client: ClientAppleMail, Kind: Human}},
		{"apple mpp bare agent", "GET", "Mozilla/5.0", netip.MustParseAddr("104.28.40.12"), later,
			Verdict{Client: ClientAppleMail, Kind: Machine, Reason: "apple-mail-privacy-protection"}},
		{"apple mpp from apple's range", "GET", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)", netip.MustParseAddr("17.58.101.4"), later,
			Verdict{Client: ClientAppleMail, Kind: Machine, Reason: "apple-mail-privacy-protection"}},
		{"apple range as ipv4-mapped ipv6", "GET", "Mozilla/5.0", netip.MustParseAddr("::ffff:17.1.2.3"), later,
			Verdict{Client: ClientAppleMail, Kind: Machine, Reason: "apple-mail-privacy-protection"}},
		{"gmail image proxy", "GET", "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)", netip.MustParseAddr("66.249.84.1"), later,
			Verdict{Client: ClientGmail, Kind: Proxy, Reason: "gmail-image-proxy"}},
		{"gmail image proxy right after sending", "GET", "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)", netip.MustParseAddr("66.249.84.1"), sent.Add(3 * time.Second),
			Verdict{Client: ClientGmail, Kind: Machine, Reason: "prefetch"}},
		{"yahoo proxy", "GET", "YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html", home, later,
			Verdict{Client: ClientYahoo, Kind: Proxy, Reason: "yahoo-mail-proxy"}},
		{"mimecast", "GET", "Mozilla/5.0 (compatible; Mimecast URL Protect)", home, later,
			Verdict{Client: ClientScanner, Kind: Machine, Reason: "link-scanner:mimecast"}},
		{"proofpoint", "GET", "Mozilla/5.0 (compatible; Proofpoint URL Defense; ppops-prod)", home, later,
			Verdict{Client: ClientScanner, Kind: Machine, Reason: "link-scanner:proofpoint"}},
		{"barracuda", "GET", "Mozilla/5.0 (Windows NT 10.0) Barracuda Sentinel (EE)", home, later,
			Verdict{Client: ClientScanner, Kind: Machine, Reason: "link-scanner:barracuda"}},
		{"office link probe", "GET", "Microsoft Office Existence Discovery", home, later,
			Verdict{Client: ClientScanner, Kind: Machine, Reason: "link-scanner:microsoft-office-link-probe"}},
		{"defender safe links detonation from a configured range", "GET", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36", netip.MustParseAddr("40.94.1.1"), later,
			Verdict{Client: ClientScanner, Kind: Machine, Reason: "link-scanner-network"}},
		{"head probe", "HEAD", "Mozilla/4.0 (compatible; ms-office; MSOffice 16)", home, later,
			Verdict{Client: ClientOutlookDesktop, Kind: Machine, Reason: "head-request"}},
		{"curl", "GET", "curl/8.5.0", home, later, Verdict{Client: ClientOther, Kind: Machine, Reason: "automated-client"}},
		{"headless chrome", "GET", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36", home, later,
			Verdict{Client: ClientOther, Kind: Machine, Reason: "automated-client"}},
		{"no agent", "GET", "", home, later, Verdict{Client: ClientOther, Kind: Machine, Reason: "no-user-agent"}},
		{"outlook opening within seconds: a gateway prefetch", "GET", "Mozilla/4.0 (compatible; ms-office; MSOffice 16)", home, sent.Add(4 * time.Second),
			Verdict{Client: ClientOutlookDesktop, Kind: Machine, Reason: "prefetch"}},
		{"thunderbird", "GET", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Thunderbird/128.5.0", home, later,
			Verdict{Client: ClientThunderbird, Kind: Human}},
	}
	nets := DefaultNetworks()
	nets.Scanners = []netip.Prefix{netip.MustParsePrefix("40.94.0.0/16")}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Classify(Hit{Method: tt.method, UserAgent: tt.ua, IP: tt.ip, Sent: sent, At: tt.at}, nets, DefaultPrefetchWindow)
			if got != tt.want {
				t.Errorf("Classify() = %+v, want %+v", got, tt.want)
			}
		})
	}
}
