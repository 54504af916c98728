// Package test holds the black-box tests of the broker (STYLE §1, §9): they build
// ./cmd/broker, run the binary as an operator would and drive it over HTTP with
// golang.org/x/oauth2 as the client, and they enforce the import rules of STYLE §1
// (deps_test.go). It has no non-test code beyond this comment and imports nothing of ours
// outside its tests.
package test
