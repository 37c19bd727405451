package restore

import "github.com/kubesnap/kubesnap/canonical"

// Phase is a step of a restore: every object of a phase is applied
// before any of the next (RULES.md section 4; Velero's restore priorities
// and Flux's staged apply agree on this shape).
type Phase int

// Phases, in the order they are applied.
const (
	PhaseCRDs Phase = iota + 1
	PhaseNamespaces
	PhaseClusterPolicy  // classes, priority classes, cluster RBAC
	PhaseNamespaceSetup // service accounts, RBAC, Secrets, ConfigMaps, limits, quotas
	PhaseVolumes        // PersistentVolumes
	PhaseClaims         // PersistentVolumeClaims
	PhaseServices
	PhaseWorkloads
	PhaseRest      // Ingresses and everything else
	PhaseAdmission // webhooks and APIServices: last, so they cannot block the rest
)

var phaseNames = map[Phase]string{
	PhaseCRDs:           "custom resource definitions",
	PhaseNamespaces:     "namespaces",
	PhaseClusterPolicy:  "cluster classes and RBAC",
	PhaseNamespaceSetup: "service accounts, RBAC, Secrets, ConfigMaps, limits",
	PhaseVolumes:        "persistent volumes",
	PhaseClaims:         "persistent volume claims",
	PhaseServices:       "services",
	PhaseWorkloads:      "workloads",
	PhaseRest:           "everything else",
	PhaseAdmission:      "admission webhooks and API services",
}

func (p Phase) String() string { return phaseNames[p] }

// phaseOf the resource dirs that do not go to PhaseRest.
var phases = map[string]Phase{
	canonical.CRDDir:                                PhaseCRDs,
	"namespaces":                                    PhaseNamespaces,
	"storageclasses.storage.k8s.io":                 PhaseClusterPolicy,
	"priorityclasses.scheduling.k8s.io":             PhaseClusterPolicy,
	"ingressclasses.networking.k8s.io":              PhaseClusterPolicy,
	"runtimeclasses.node.k8s.io":                    PhaseClusterPolicy,
	"clusterroles.rbac.authorization.k8s.io":        PhaseClusterPolicy,
	"clusterrolebindings.rbac.authorization.k8s.io": PhaseClusterPolicy,
	"serviceaccounts":                               PhaseNamespaceSetup,
	"roles.rbac.authorization.k8s.io":               PhaseNamespaceSetup,
	"rolebindings.rbac.authorization.k8s.io":        PhaseNamespaceSetup,
	"secrets":                                       PhaseNamespaceSetup,
	"configmaps":                                    PhaseNamespaceSetup,
	"limitranges":                                   PhaseNamespaceSetup,
	"resourcequotas":                                PhaseNamespaceSetup,
	"persistentvolumes":                             PhaseVolumes,
	"persistentvolumeclaims":                        PhaseClaims,
	"services":                                      PhaseServices,
	"deployments.apps":                              PhaseWorkloads,
	"statefulsets.apps":                             PhaseWorkloads,
	"daemonsets.apps":                               PhaseWorkloads,
	"replicasets.apps":                              PhaseWorkloads,
	"cronjobs.batch":                                PhaseWorkloads,
	"jobs.batch":                                    PhaseWorkloads,
	"pods":                                          PhaseWorkloads,
	"validatingwebhookconfigurations.admissionregistration.k8s.io":   PhaseAdmission,
	"mutatingwebhookconfigurations.admissionregistration.k8s.io":     PhaseAdmission,
	"validatingadmissionpolicies.admissionregistration.k8s.io":       PhaseAdmission,
	"validatingadmissionpolicybindings.admissionregistration.k8s.io": PhaseAdmission,
	canonical.APIServiceDir: PhaseAdmission,
}

// PhaseOf is the phase objects of id's type are applied in.
func PhaseOf(id canonical.ID) Phase {
	if p, ok := phases[id.ResourceDir()]; ok {
		return p
	}
	return PhaseRest
}
