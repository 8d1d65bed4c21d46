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
