package configs

import "embed"

// files holds the example configuration shipped with the binary.
//
//go:embed broker.example.yaml
var files embed.FS

// ExampleFileName is the name of the example configuration in this package.
const ExampleFileName = "broker.example.yaml"

// Example returns broker.example.yaml: every key with a comment and its
// default, and commented-out domains for both providers. It loads without
// errors as is (a test proves it and that its values are the defaults), so
// `broker` can print it as a starting point.
func Example() string {
	b, err := files.ReadFile(ExampleFileName)
	if err != nil {
		panic("configs: example missing from the embedded files: " + err.Error()) // cannot happen: go:embed
	}
	return string(b)
}
