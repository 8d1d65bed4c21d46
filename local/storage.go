package main

import (
	"errors"
	"net"
	"net/url"
	"strings"

	"github.com/crmsync/crmsync/shared/settings"
)

// DevelopmentConnectionString is Azurite's well-known account on its default
// loopback ports. The Go SDKs do not understand UseDevelopmentStorage=true.
const DevelopmentConnectionString = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;" +
	"AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;" +
	"BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1;" +
	"TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;"

// developmentAccount is the account name Azurite (and the old storage
// emulator) serve; no Azure Storage account can have it.
const developmentAccount = "devstoreaccount1"

// storageSettings turns the --storage flag into storage settings.
func storageSettings(flagValue, dataDir string) (settings.Settings, error) {
	v := strings.TrimSpace(flagValue)
	switch {
	case v == "" || v == settings.StorageEmbedded:
		return settings.Settings{Storage: settings.StorageEmbedded, DataDir: dataDir}, nil
	case v == "azurite" || useDevelopmentStorage(parseConnection(v)):
		return settings.Settings{Storage: settings.StorageAzure, ConnectionString: DevelopmentConnectionString}, nil
	}
	if kv := parseConnection(v); kv["accountname"] != "" || kv["queueendpoint"] != "" {
		return settings.Settings{Storage: settings.StorageAzure, ConnectionString: v}, nil
	}
	return settings.Settings{}, errors.New(`-storage: want "embedded", "azurite" or an Azure Storage connection string (with AccountName= or QueueEndpoint=)`)
}

// parseConnection splits a storage connection string into its parts, keys
// lower-cased (Azure treats them case-insensitively). Values keep their "="
// (an account key's base64 padding).
func parseConnection(conn string) map[string]string {
	kv := map[string]string{}
	for _, part := range strings.Split(conn, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if ok {
			kv[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
		}
	}
	return kv
}

func useDevelopmentStorage(kv map[string]string) bool {
	return strings.EqualFold(kv["usedevelopmentstorage"], "true")
}

// describeStorage names the storage for the startup line — the embedded
// folder, Azurite, or Azure Storage — from the settings alone, for any
// connection string: the development account, UseDevelopmentStorage=true or
// endpoints on a loopback address are Azurite; an account on
// *.core.windows.net (or another Azure cloud's EndpointSuffix) is Azure
// Storage; endpoints elsewhere are named by their host. The key is never
// part of it.
func describeStorage(s settings.Settings) string {
	if s.Storage == settings.StorageEmbedded {
		return "embedded in " + s.DataDir
	}
	kv := parseConnection(s.ConnectionString)
	account := kv["accountname"]
	hosts := endpointHosts(kv)
	if useDevelopmentStorage(kv) || account == developmentAccount {
		return "Azurite" + at(hosts)
	}
	for _, h := range hosts {
		if loopback(h) {
			return "Azurite" + at(hosts)
		}
	}
	name := "Azure Storage"
	if account != "" {
		name += " account " + account
	}
	if len(hosts) == 0 {
		return name // AccountName with the default suffix
	}
	for _, h := range hosts {
		if !azureHost(h, kv["endpointsuffix"]) {
			return name + " through custom endpoints" + at(hosts)
		}
	}
	return name
}

// endpointHosts are the hosts of the explicit Queue and Table endpoints, in
// that order, without repeats.
func endpointHosts(kv map[string]string) []string {
	var out []string
	for _, k := range []string{"queueendpoint", "tableendpoint"} {
		u, err := url.Parse(kv[k])
		if err != nil || u.Host == "" {
			continue
		}
		if len(out) == 0 || out[len(out)-1] != u.Host {
			out = append(out, u.Host)
		}
	}
	return out
}

func at(hosts []string) string {
	if len(hosts) == 0 {
		return ""
	}
	return " at " + strings.Join(hosts, ", ")
}

// loopback reports whether host (with or without a port) is this machine.
func loopback(host string) bool {
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	h = strings.Trim(h, "[]")
	if strings.EqualFold(h, "localhost") || strings.HasSuffix(strings.ToLower(h), ".localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// azureHost reports whether host is a storage endpoint of Azure: the public
// cloud's core.windows.net, or the EndpointSuffix the string names (a
// sovereign cloud such as core.chinacloudapi.cn).
func azureHost(host, suffix string) bool {
	h := strings.ToLower(host)
	if hh, _, err := net.SplitHostPort(h); err == nil {
		h = hh
	}
	for _, s := range []string{"core.windows.net", strings.ToLower(strings.Trim(suffix, "."))} {
		if s != "" && strings.HasSuffix(h, "."+s) {
			return true
		}
	}
	return false
}
