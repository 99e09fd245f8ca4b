package s3api

import "testing"

// TestVersionQueryOpsHaveVersionActions: every operation whose ?versionId=
// names a version has an action with a version form, so that naming a
// version never reaches authorizeVersion's internal-error branch.
func TestVersionQueryOpsHaveVersionActions(t *testing.T) {
	want := map[string]string{
		"GetObject":    "s3:GetObjectVersion",
		"HeadObject":   "s3:GetObjectVersion",
		"DeleteObject": "s3:DeleteObjectVersion",
	}
	for op := range versionQueryOps {
		o, ok := operations[op]
		if !ok {
			t.Errorf("%s is in versionQueryOps but not an operation", op)
			continue
		}
		if got := versionActions[o.action]; got != want[op] {
			t.Errorf("%s with ?versionId=: action %q, want %q", op, got, want[op])
		}
	}
	for op := range want {
		if !versionQueryOps[op] {
			t.Errorf("%s is missing from versionQueryOps", op)
		}
	}
	// The copy source and DeleteObjects entries use these two.
	if versionActions["s3:GetObject"] != "s3:GetObjectVersion" || versionActions["s3:DeleteObject"] != "s3:DeleteObjectVersion" {
		t.Errorf("versionActions = %v", versionActions)
	}
}
