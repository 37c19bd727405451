package canonical

// Resource directories (ID.ResourceDir) of the types whose changes alter
// which types a cluster serves, or that restore and prune treat apart.
// Packages compare against these, never against literals.
const (
	// CRDDir holds CustomResourceDefinitions.
	CRDDir = "customresourcedefinitions.apiextensions.k8s.io"
	// APIServiceDir holds APIServices (aggregated API registrations).
	APIServiceDir = "apiservices.apiregistration.k8s.io"
)

// Group and kind of the same types, for code that sees a kind rather than
// a resource.
const (
	CRDGroup        = "apiextensions.k8s.io"
	CRDKind         = "CustomResourceDefinition"
	APIServiceGroup = "apiregistration.k8s.io"
	APIServiceKind  = "APIService"
)
