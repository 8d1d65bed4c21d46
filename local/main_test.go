package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/shared/settings"
)

func TestStorageSettings(t *testing.T) {
	tests := []struct {
		flag        string
		wantStorage string
		wantConn    string
		wantErr     bool
	}{
		{"embedded", settings.StorageEmbedded, "", false},
		{"", settings.StorageEmbedded, "", false},
		{"azurite", settings.StorageAzure, DevelopmentConnectionString, false},
		{"UseDevelopmentStorage=true", settings.StorageAzure, DevelopmentConnectionString, false},
		{"UseDevelopmentStorage=true;", settings.StorageAzure, DevelopmentConnectionString, false},
		{"usedevelopmentstorage=TRUE;DevelopmentStorageProxyUri=http://127.0.0.1", settings.StorageAzure, DevelopmentConnectionString, false},
		{"QueueEndpoint=https://q.example/acct;SharedAccessSignature=sv=1", settings.StorageAzure, "QueueEndpoint=https://q.example/acct;SharedAccessSignature=sv=1", false},
		{"UseDevelopmentStorage=false", "", "", true},
		{"DefaultEndpointsProtocol=https;AccountName=a;AccountKey=k", settings.StorageAzure, "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=k", false},
		{"s3://bucket", "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.flag, func(t *testing.T) {
			got, err := storageSettings(tt.flag, "/data")
			if (err != nil) != tt.wantErr {
				t.Fatalf("error = %v, wantErr %v", err, tt.wantErr)
			}
			if got.Storage != tt.wantStorage || got.ConnectionString != tt.wantConn {
				t.Errorf("got %q %q, want %q %q", got.Storage, got.ConnectionString, tt.wantStorage, tt.wantConn)
			}
		})
	}
}

func TestRunCommands(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
		wantOut string
	}{
		{"unknown command", []string{"local", "frobnicate"}, `unknown command "frobnicate"`, ""},
		{"help", []string{"local", "help"}, "", "fake-salesforce"},
		{"serve without a staged app", []string{"local", "serve", "-app", "/nonexistent/app"}, "no function app at /nonexistent/app", ""},
		{"bad flag", []string{"local", "serve", "-nope"}, "flag provided but not defined", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := run(context.Background(), tt.args, func(string) string { return "" }, &out, &errOut)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("run: %v", err)
				}
			} else if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
			}
			if !strings.Contains(out.String(), tt.wantOut) {
				t.Errorf("output %q lacks %q", out.String(), tt.wantOut)
			}
		})
	}
}

// TestDescribeStorage: the startup line names Azurite or Azure Storage
// rightly for any connection string, and never shows the key.
func TestDescribeStorage(t *testing.T) {
	const key = "AccountKey=c2VjcmV0LWtleS1ieXRlcw=="
	tests := []struct {
		name, conn, want string
	}{
		{"the development string", DevelopmentConnectionString, "Azurite at 127.0.0.1:10001, 127.0.0.1:10002"},
		{"UseDevelopmentStorage", "UseDevelopmentStorage=true", "Azurite"},
		{"development account on other ports (tests)", "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;" + key +
			";TableEndpoint=http://127.0.0.1:41234/devstoreaccount1;QueueEndpoint=http://127.0.0.1:41233/devstoreaccount1;", "Azurite at 127.0.0.1:41233, 127.0.0.1:41234"},
		{"development account in a container", "AccountName=devstoreaccount1;" + key + ";QueueEndpoint=http://azurite:10001/devstoreaccount1;TableEndpoint=http://azurite:10002/devstoreaccount1", "Azurite at azurite:10001, azurite:10002"},
		{"own account on localhost", "AccountName=dev;" + key + ";QueueEndpoint=http://localhost:10001/dev", "Azurite at localhost:10001"},
		{"own account on IPv6 loopback", "AccountName=dev;" + key + ";QueueEndpoint=http://[::1]:10001/dev", "Azurite at [::1]:10001"},
		{"Azure by account and suffix", "DefaultEndpointsProtocol=https;AccountName=crmsyncprod;" + key + ";EndpointSuffix=core.windows.net", "Azure Storage account crmsyncprod"},
		{"Azure by account alone", "DefaultEndpointsProtocol=https;AccountName=crmsyncprod;" + key, "Azure Storage account crmsyncprod"},
		{"Azure with explicit endpoints", "AccountName=crmsyncprod;" + key + ";QueueEndpoint=https://crmsyncprod.queue.core.windows.net/;TableEndpoint=https://crmsyncprod.table.core.windows.net/", "Azure Storage account crmsyncprod"},
		{"Azure private endpoint", "AccountName=a;" + key + ";QueueEndpoint=https://a.privatelink.queue.core.windows.net", "Azure Storage account a"},
		{"Azure China", "AccountName=a;" + key + ";EndpointSuffix=core.chinacloudapi.cn;QueueEndpoint=https://a.queue.core.chinacloudapi.cn", "Azure Storage account a"},
		{"SAS with a queue endpoint only", "QueueEndpoint=https://a.queue.core.windows.net;SharedAccessSignature=sv=2024&sig=x", "Azure Storage"},
		{"custom endpoints", "AccountName=a;" + key + ";QueueEndpoint=https://queues.corp.example/a;TableEndpoint=https://tables.corp.example/a", "Azure Storage account a through custom endpoints at queues.corp.example, tables.corp.example"},
		{"look-alike host", "AccountName=a;" + key + ";QueueEndpoint=https://a.queue.core.windows.net.evil.example", "Azure Storage account a through custom endpoints at a.queue.core.windows.net.evil.example"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := describeStorage(settings.Settings{Storage: settings.StorageAzure, ConnectionString: tt.conn})
			if got != tt.want {
				t.Errorf("describeStorage = %q, want %q", got, tt.want)
			}
			if strings.Contains(got, "c2VjcmV0") || strings.Contains(got, "sig=") {
				t.Errorf("describeStorage shows a secret: %q", got)
			}
		})
	}
	if got := describeStorage(settings.Settings{Storage: settings.StorageEmbedded, DataDir: "/d"}); got != "embedded in /d" {
		t.Errorf("embedded: %q", got)
	}
}
