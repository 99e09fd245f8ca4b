package s3test

import (
	"os"
	"strings"

	"github.com/postern/postern/internal/testserver"
)

// EnvWithoutAWS returns the process environment without any AWS_* variable.
func EnvWithoutAWS() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	return env
}

// CLIEnv is the environment for CLI clients (aws, boto3, s3cmd) of s: the
// machine's, without any inherited AWS_* variable, plus the server's
// credentials and extra, so that nothing of the machine running the tests
// changes what clients send.
func CLIEnv(s *testserver.Server, extra ...string) []string {
	return append(append(EnvWithoutAWS(), s.Env()...), extra...)
}
