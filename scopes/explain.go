package scopes

// Explanation is what `broker scopes explain` prints for one scope and what the consent page
// shows for it (SPEC §2, §10). The JSON names are SPEC §10's.
type Explanation struct {
	// Scope is the name asked about, as written.
	Scope string `json:"scope"`
	// Description is its one plain-language sentence (Describe).
	Description string `json:"description"`
	// ExpandsTo is the sorted granular set it stands for (ExpandsTo).
	ExpandsTo []string `json:"expands_to"`
	// Google is the fewest Google scope URLs covering ExpandsTo (Google); empty, never nil, for
	// a service-account scope.
	Google []string `json:"google"`
}

// Explain describes one scope name of either kind. An unknown name fails with *UnknownError,
// so `broker scopes explain not_a_scope` fails as strictly as parsing does (SPEC §1).
func Explain(scope string) (Explanation, error) {
	e, ok := lookup(scope)
	if !ok {
		return Explanation{}, &UnknownError{Token: scope}
	}
	set := Set{bits: e.bits}
	return Explanation{
		Scope:       scope,
		Description: e.description,
		ExpandsTo:   set.Scopes(),
		Google:      Google(set),
	}, nil
}
