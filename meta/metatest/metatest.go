// Package metatest is the conformance suite of meta.Store: every
// implementation runs it from its own tests,
//
//	func TestConformance(t *testing.T) {
//		metatest.Run(t, func(t *testing.T) meta.Store { return openEmptyStore(t) })
//	}
//
// The suite uses the interface only. It checks what callers rely on: every
// method's results and error values (errors.Is), listing order (UTF-8
// binary) and pagination, multipart bookkeeping, the blob ids each write
// frees (bytes are deleted only after the metadata commit, so a blob
// reported twice or never is lost data or a leak), preconditions evaluated
// inside the write, and atomicity under concurrent writers.
package metatest

import (
	"testing"

	"github.com/postern/postern/meta"
)

// Opener returns a new, empty store for one test. It registers the store's
// Close (and any other cleanup) with t.Cleanup.
type Opener func(t *testing.T) meta.Store

// Run runs the whole suite against the stores open returns, each test in
// its own subtest with its own store.
func Run(t *testing.T, open Opener) {
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, Opener)
	}{
		{"Buckets", testBuckets},
		{"DeleteBucketNotEmptyAndUploads", testDeleteBucketNotEmptyAndUploads},
		{"BucketConfig", testBucketConfig},
		{"Objects", testObjects},
		{"InlineObjectAndBucketConfigs", testInlineObjectAndBucketConfigs},
		{"AwkwardKeys", testAwkwardKeys},
		{"BlobReferencedBatch", testBlobReferencedBatch},
		{"CanceledContext", testCanceledContext},
		{"PutObjectConditions", testPutObjectConditions},
		{"DeleteObjectConditions", testDeleteObjectConditions},
		{"CompleteUploadConditions", testCompleteUploadConditions},
		{"ListObjectsCases", testListObjectsCases},
		{"ListObjectsBinaryOrder", testListObjectsBinaryOrder},
		{"ListObjectsProperty", testListObjectsProperty},
		{"ListVersions", testListVersions},
		{"UploadLifecycle", testUploadLifecycle},
		{"ListPartsMarkers", testListPartsMarkers},
		{"ListUploadsProperty", testListUploadsProperty},
		{"ListUploadsSameKeyOrder", testListUploadsSameKeyOrder},
		{"ConcurrentWrites", testConcurrentWrites},
		{"ConcurrentOverwrite", testConcurrentOverwrite},
		{"ConcurrentCreateBucket", testConcurrentCreateBucket},
		{"ConditionalPutRace", testConditionalPutRace},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open) })
	}
}
