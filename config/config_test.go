package config

import (
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestValidateReportsEveryProblemWithItsPath(t *testing.T) {
	t.Setenv("CFG_TEST_SHORT", "short")
	c := &Config{
		Keys: []Key{
			{Name: "a", Role: "root", Secret: "literal-secret-value"},
			{Name: "a", Role: "admin", Secret: "env:CFG_TEST_SHORT"},
			{Name: "b", Role: "storefront", Secret: "env:CFG_TEST_MISSING"},
		},
		Locations: []Location{{ID: "web"}, {ID: "web"}},
		SKUs:      []SKU{{SKU: "A", SafetyStock: -1}},
		Bus:       Bus{MemoryWindow: -1},
		Ledger:    Ledger{Workers: -3, Pace: "sometimes"},
		Connectors: []Connector{
			{ID: "shop/1", Kind: "ebay", DefaultLocation: "mars", Items: map[string]string{"1": "B"}},
		},
	}
	c.Defaults()
	err := c.Validate()
	if err == nil {
		t.Fatal("Validate accepted a broken config")
	}
	for _, want := range []string{
		"keys[0].role", "keys[0].secret: must be a reference",
		"keys[1].name", "keys[1].secret: the key must be at least 16 characters",
		"keys[2].secret: environment variable CFG_TEST_MISSING is not set",
		"locations[1].id", "skus[0].safetyStock", "bus.memoryWindow: must not be negative",
		"ledger.workers: -3: want 0", `ledger.pace: "sometimes": want "on" or "off"`,
		"connectors[0].id", "connectors[0].kind", "connectors[0].secrets",
		"connectors[0].defaultLocation: location \"mars\"",
		`connectors[0].items["1"]: SKU "B"`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestSecretsResolveFromEnvAndFile(t *testing.T) {
	t.Setenv("CFG_TEST_KEY", "0123456789abcdefXYZ")
	path := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(path, []byte("from-a-file-0123456789\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := &Config{
		Keys:       []Key{{Name: "ops", Role: "admin", Secret: "env:CFG_TEST_KEY"}},
		Connectors: []Connector{{ID: "shop", Kind: "shopify", Secrets: []string{"file:" + path}}},
	}
	c.Defaults()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Keys[0].Value != "0123456789abcdefXYZ" || c.Connectors[0].SecretValues[0] != "from-a-file-0123456789" {
		t.Fatalf("resolved %q and %q", c.Keys[0].Value, c.Connectors[0].SecretValues)
	}
}

func TestLoadRejectsUnknownFieldsAndTheExampleLoads(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("adress: 1.2.3.4:80\n"), 0o600)
	if _, err := Load(bad); err == nil || !strings.Contains(err.Error(), "adress") {
		t.Fatalf("a misspelt field loaded: %v", err)
	}
	for _, k := range []string{"STOCKGATE_ADMIN_KEY", "STOCKGATE_STOREFRONT_KEY", "SHOPIFY_WEBHOOK_SECRET", "POS_WEBHOOK_SECRET"} {
		t.Setenv(k, "a-long-enough-test-value-123")
	}
	for _, f := range []string{"../examples/stockgate.yaml", "../examples/load.yaml"} {
		c, err := Load(f)
		if err != nil {
			t.Fatal(err)
		}
		c.Defaults()
		if err := c.Validate(); err != nil {
			t.Errorf("%s does not validate: %v", f, err)
		}
	}
	tuned := filepath.Join(dir, "tuned.yaml")
	os.WriteFile(tuned, []byte("ledger:\n  workers: 16\n  pace: off\n"), 0o600)
	if c, err := Load(tuned); err != nil || c.Ledger.Workers != 16 || c.Ledger.Pace != PaceOff {
		t.Fatalf("ledger: {workers: 16, pace: off} loaded as %+v, %v", c, err)
	}
	empty := filepath.Join(dir, "empty.yaml")
	os.WriteFile(empty, nil, 0o600)
	if _, err := Load(empty); err != nil {
		t.Fatalf("an empty file is all defaults, got %v", err)
	}
}

func TestCatalog(t *testing.T) {
	c := &Config{Locations: []Location{{ID: "web"}}, SKUs: []SKU{{SKU: "A", SafetyStock: 3}}}
	cat := c.Catalog()
	if err := cat.Known("A", "web"); err != nil {
		t.Fatal(err)
	}
	if cat.Known("B", "web") == nil || cat.Known("A", "mars") == nil {
		t.Fatal("an undeclared SKU or location was known")
	}
	if cat.SafetyStock("A", "web") != 3 {
		t.Fatal("safety stock not from config")
	}
	if (&Config{}).Catalog().Known("anything", "anywhere") != nil {
		t.Fatal("with nothing declared, everything is known")
	}
}

func TestReplica(t *testing.T) {
	c := &Config{Bus: Bus{
		Availability:             "jetstream://sg.av?create_stream=AV",
		AvailabilitySubscription: "jetstream://AV/live-{replica}?deliver=new",
	}}
	c.Defaults()
	err := c.Validate()
	if err == nil || !strings.Contains(err.Error(), "bus.availabilitySubscription: contains {replica}: set replica") {
		t.Fatalf("a {replica} URL without a replica: %v", err)
	}
	c.Replica = "pod/1"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), `replica: "pod/1"`) {
		t.Fatalf("replica pod/1: %v", err)
	}
	c.Replica = "pod-1"
	if err := c.Validate(); err != nil {
		t.Fatalf("replica pod-1: %v", err)
	}
}

// TestReconciledLocations: reconciliation reads back every mapped
// location but the one a Shopify or Square sync section writes; Amazon's
// sync (merchant-fulfilled quantities) takes none of its FBA locations.
func TestReconciledLocations(t *testing.T) {
	locs := map[string]string{"655441491": "berlin", "655441492": "hamburg", "L8YQ2W4K7ZB3D": "cologne", "ATVPDKIKX0DER": "amazon-us"}
	for _, tc := range []struct {
		name string
		c    Connector
		want map[string]string
	}{
		{"no sync", Connector{Kind: "shopify", Locations: locs}, locs},
		{"shopify sync", Connector{Kind: "shopify", Locations: locs, Sync: &Sync{LocationID: 655441491}},
			map[string]string{"655441492": "hamburg", "L8YQ2W4K7ZB3D": "cologne", "ATVPDKIKX0DER": "amazon-us"}},
		{"shopify sync to an unmapped location", Connector{Kind: "shopify", Locations: locs, Sync: &Sync{LocationID: 1}}, locs},
		{"square sync", Connector{Kind: "square", Locations: locs, Sync: &Sync{Location: "L8YQ2W4K7ZB3D"}},
			map[string]string{"655441491": "berlin", "655441492": "hamburg", "ATVPDKIKX0DER": "amazon-us"}},
		{"amazon sync", Connector{Kind: "amazon", Locations: locs, Sync: &Sync{MarketplaceID: "ATVPDKIKX0DER"}}, locs},
		{"the only location synced", Connector{Kind: "square", Locations: map[string]string{"L1": "berlin"}, Sync: &Sync{Location: "L1"}},
			map[string]string{}},
	} {
		if got := tc.c.ReconciledLocations(); !maps.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	if len(locs) != 4 {
		t.Errorf("ReconciledLocations changed the connector's map: %v", locs)
	}
}
