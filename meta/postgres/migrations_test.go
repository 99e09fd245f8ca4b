package postgres

import (
	"strings"
	"testing"
	"testing/fstest"
)

func TestBuiltInMigrationsLoad(t *testing.T) {
	if migrationsErr != nil {
		t.Fatal(migrationsErr)
	}
	if SchemaVersion() < 1 || migrations[0].version != 1 {
		t.Fatalf("SchemaVersion() = %d", SchemaVersion())
	}
}

func TestLoadMigrationsChecksNumbering(t *testing.T) {
	file := &fstest.MapFile{Data: []byte("SELECT 1;")}
	for _, c := range []struct {
		files []string
		want  string // "" = loads
	}{
		{[]string{"0001_a.sql", "0002_b.sql"}, ""},
		{[]string{"0001_a.sql", "0003_c.sql"}, "expected version 2"},
		{[]string{"0002_b.sql"}, "expected version 1"},
		{[]string{"0001_a.sql", "0001_b.sql"}, "expected version 2"},
		{[]string{"0001_a.sql", "2_b.sql"}, "name must be"},
		{[]string{"0001_A.sql"}, "name must be"},
		{[]string{"0001_a.txt"}, "name must be"},
		{nil, "no migrations"},
	} {
		fsys := fstest.MapFS{"migrations": &fstest.MapFile{Mode: 0o755 | 1<<31}}
		for _, f := range c.files {
			fsys["migrations/"+f] = file
		}
		ms, err := loadMigrations(fsys)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%v: %v", c.files, err)
		case c.want == "" && len(ms) != len(c.files):
			t.Errorf("%v: loaded %d", c.files, len(ms))
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%v: error %v, want %q", c.files, err, c.want)
		}
	}
}
