package dev.principia;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.autoscaling.v2.HorizontalPodAutoscaler;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyPort;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.fabric8.openshift.api.model.monitoring.v1.ServiceMonitor;

/**
 * Every kustomization under {@code k8s/}, rendered by the real {@code kubectl kustomize} and read into
 * the Kubernetes object model strictly (an unknown field anywhere fails), then checked against the
 * server: probe ports are the configured ports, selectors match labels, images are pinned, the GPU
 * overlay asks for a GPU, every configuration key set is documented in README.
 */
public class KubernetesManifestsTest {
    /** The HPA's metric; RewardServiceTest checks the server really exports it at /q/metrics. */
    public static final String HPA_METRIC = "principia_engine_requests_pending";

    private static final Path K8S = Path.of("k8s");
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static final Map<String, Class<? extends HasMetadata>> KINDS = Map.of("ConfigMap", ConfigMap.class, "Service", Service.class,
            "Deployment", Deployment.class, "HorizontalPodAutoscaler", HorizontalPodAutoscaler.class,
            "PodDisruptionBudget", PodDisruptionBudget.class, "NetworkPolicy", NetworkPolicy.class, "ServiceMonitor", ServiceMonitor.class);
    private static final Map<String, List<HasMetadata>> RENDERED = new LinkedHashMap<>();

    /** The objects {@code kubectl kustomize k8s/<dir>} renders, each read strictly into its model class. */
    static synchronized List<HasMetadata> render(String dir) throws IOException {
        if (RENDERED.containsKey(dir)) return RENDERED.get(dir);
        List<String> kubectl = ExternalTools.require("kubectl", List.of(List.of("kubectl")), List.of("version", "--client"));
        List<String> cmd = new ArrayList<>(kubectl);
        cmd.addAll(List.of("kustomize", K8S.resolve(dir).toString()));
        ExternalTools.Result r = ExternalTools.run(cmd, Map.of(), null, 120);
        assertEquals(0, r.exitCode(), "kubectl kustomize " + dir + ": " + r.output());
        String yaml = r.output().lines().filter(l -> !l.startsWith("# Warning:")).reduce("", (a, b) -> a + b + "\n");
        List<HasMetadata> objects = new ArrayList<>();
        for (JsonNode doc : YAML.readerFor(JsonNode.class).<JsonNode>readValues(yaml).readAll()) {
            if (doc == null || doc.isEmpty()) continue;
            Class<? extends HasMetadata> type = KINDS.get(doc.path("kind").asText());
            assertNotNull(type, dir + ": unexpected kind " + doc.path("kind") + " (add it to the test's model classes)");
            assertEquals(HasMetadata.getApiVersion(type), doc.path("apiVersion").asText(), dir + ": " + doc.path("kind"));
            HasMetadata object = YAML.treeToValue(doc, type);
            List<String> unknown = new ArrayList<>();
            strict(object, dir + ":" + doc.path("kind").asText() + "/" + object.getMetadata().getName(), unknown);
            assertTrue(unknown.isEmpty(), "fields the Kubernetes API does not know: " + unknown);
            objects.add(object);
        }
        RENDERED.put(dir, objects);
        return objects;
    }

    /** Collects the unknown fields (fabric8's additionalProperties) anywhere in a model object. */
    private static void strict(Object o, String path, List<String> unknown) {
        if (o instanceof Collection<?> c) {
            int i = 0;
            for (Object e : c) strict(e, path + "[" + i++ + "]", unknown);
        } else if (o instanceof Map<?, ?> m) {
            for (Map.Entry<?, ?> e : m.entrySet()) strict(e.getValue(), path + "." + e.getKey(), unknown);
        } else if (o != null && o.getClass().getName().startsWith("io.fabric8.")) {
            for (Method m : o.getClass().getMethods()) {
                Class<?> t = m.getReturnType();
                if (m.getParameterCount() != 0 || !m.getName().startsWith("get")
                        || !(t.getName().startsWith("io.fabric8.") || List.class.isAssignableFrom(t) || Map.class.isAssignableFrom(t))) continue;
                Object v;
                try {
                    v = m.invoke(o);
                } catch (ReflectiveOperationException e) {
                    throw new IllegalStateException(path + "." + m.getName(), e);
                }
                if (m.getName().equals("getAdditionalProperties")) {
                    if (v instanceof Map<?, ?> extra && !extra.isEmpty()) unknown.add(path + ": " + extra.keySet());
                } else {
                    strict(v, path + "." + m.getName().substring(3), unknown);
                }
            }
        }
    }

    private static <T> List<T> all(List<HasMetadata> objects, Class<T> type) {
        return objects.stream().filter(type::isInstance).map(type::cast).toList();
    }

    private static <T> T one(List<HasMetadata> objects, Class<T> type) {
        List<T> found = all(objects, type);
        assertEquals(1, found.size(), "one " + type.getSimpleName());
        return found.get(0);
    }

    private static List<String> kustomizations() throws IOException {
        try (Stream<Path> files = Files.walk(K8S)) {
            return files.filter(p -> p.getFileName().toString().equals("kustomization.yaml"))
                    .map(p -> K8S.relativize(p.getParent()).toString()).sorted().toList();
        }
    }

    /** The three that run the server; {@code monitoring} holds only its ServiceMonitor. */
    private static final List<String> DEPLOYABLE = List.of("base", "overlays/cpu", "overlays/gpu");

    private static Properties app() throws IOException {
        Properties app = new Properties();
        try (InputStream in = Files.newInputStream(Path.of("src/main/resources/application.properties"))) {
            app.load(in);
        }
        return app;
    }

    @Test
    void everyKustomizationRendersIntoKnownObjects() throws IOException {
        List<String> dirs = kustomizations();
        assertTrue(dirs.containsAll(List.of("base", "monitoring", "overlays/cpu", "overlays/gpu")), dirs.toString());
        for (String dir : dirs) assertFalse(render(dir).isEmpty(), dir);
        for (String dir : List.of("overlays/cpu", "overlays/gpu")) {
            assertEquals(1, all(render(dir), ServiceMonitor.class).size(), dir + " is scraped by a ServiceMonitor");
            assertEquals(1, all(render(dir), NetworkPolicy.class).size(), dir + " has a NetworkPolicy");
        }
    }

    @Test
    void probesAndPortsAreTheServersPorts() throws IOException {
        Properties app = app();
        int grpc = Integer.parseInt(app.getProperty("quarkus.grpc.server.port"));
        int http = Integer.parseInt(app.getProperty("quarkus.http.port"));
        for (String dir : DEPLOYABLE) {
            Deployment d = one(render(dir), Deployment.class);
            Container c = d.getSpec().getTemplate().getSpec().getContainers().get(0);
            Map<String, Integer> ports = new LinkedHashMap<>();
            for (ContainerPort p : c.getPorts()) ports.put(p.getName(), p.getContainerPort());
            assertEquals(Map.of("grpc", grpc, "http", http), ports, dir);
            for (Probe p : List.of(c.getStartupProbe(), c.getLivenessProbe())) {
                assertEquals("/q/health/live", p.getHttpGet().getPath(), dir + ": startup and liveness check the process");
                assertEquals(http, port(p.getHttpGet().getPort(), ports), dir);
            }
            Probe ready = c.getReadinessProbe();
            assertEquals(grpc, ready.getGrpc().getPort(), dir + ": readiness is gRPC health");
            assertEquals("principia.v1.RewardService", ready.getGrpc().getService(), dir);
            Map<String, String> annotations = d.getSpec().getTemplate().getMetadata().getAnnotations();
            assertEquals(String.valueOf(http), annotations.get("prometheus.io/port"), dir);
            assertEquals(app.getProperty("quarkus.micrometer.export.prometheus.path"), annotations.get("prometheus.io/path"), dir);
        }
        ServiceMonitor monitor = one(render("monitoring"), ServiceMonitor.class);
        assertEquals(app.getProperty("quarkus.micrometer.export.prometheus.path"), monitor.getSpec().getEndpoints().get(0).getPath());
    }

    private static int port(IntOrString port, Map<String, Integer> named) {
        if (port.getIntVal() != null) return port.getIntVal();
        assertTrue(named.containsKey(port.getStrVal()), "named port " + port.getStrVal() + " exists");
        return named.get(port.getStrVal());
    }

    private static boolean selects(Map<String, String> selector, Map<String, String> labels) {
        return selector != null && !selector.isEmpty() && labels.entrySet().containsAll(selector.entrySet());
    }

    @Test
    void selectorsAndReferencesMatch() throws IOException {
        for (String dir : DEPLOYABLE) {
            List<HasMetadata> objects = render(dir);
            Deployment d = one(objects, Deployment.class);
            Map<String, String> pod = d.getSpec().getTemplate().getMetadata().getLabels();
            PodSpec spec = d.getSpec().getTemplate().getSpec();
            Set<String> portNames = new HashSet<>();
            spec.getContainers().get(0).getPorts().forEach(p -> portNames.add(p.getName()));
            assertTrue(selects(d.getSpec().getSelector().getMatchLabels(), pod), dir + ": the Deployment selects its pods");
            for (Service s : all(objects, Service.class)) {
                assertTrue(selects(s.getSpec().getSelector(), pod), dir + ": Service " + s.getMetadata().getName() + " selects the pods");
                for (ServicePort p : s.getSpec().getPorts()) assertTrue(portNames.contains(p.getTargetPort().getStrVal()), dir + ": " + p);
            }
            PodDisruptionBudget pdb = one(objects, PodDisruptionBudget.class);
            assertTrue(selects(pdb.getSpec().getSelector().getMatchLabels(), pod), dir + ": the PodDisruptionBudget selects the pods");
            NetworkPolicy np = one(objects, NetworkPolicy.class);
            assertTrue(selects(np.getSpec().getPodSelector().getMatchLabels(), pod), dir + ": the NetworkPolicy selects the pods");
            np.getSpec().getIngress().forEach(rule -> {
                for (NetworkPolicyPort p : rule.getPorts()) assertTrue(portNames.contains(p.getPort().getStrVal()), dir + ": " + p);
            });
            var anyPod = np.getSpec().getIngress().get(0).getFrom().get(0).getPodSelector();
            assertTrue((anyPod.getMatchLabels() == null || anyPod.getMatchLabels().isEmpty())
                    && (anyPod.getMatchExpressions() == null || anyPod.getMatchExpressions().isEmpty()), dir + ": every pod of the namespace may call");
            HorizontalPodAutoscaler hpa = one(objects, HorizontalPodAutoscaler.class);
            assertEquals(List.of("Deployment", d.getMetadata().getName()),
                    List.of(hpa.getSpec().getScaleTargetRef().getKind(), hpa.getSpec().getScaleTargetRef().getName()), dir);
            Set<String> configMaps = new HashSet<>();
            all(objects, ConfigMap.class).forEach(cm -> configMaps.add(cm.getMetadata().getName()));
            spec.getContainers().get(0).getEnvFrom().forEach(e -> assertTrue(configMaps.contains(e.getConfigMapRef().getName()), dir + ": " + e));
            Set<String> volumes = new HashSet<>();
            spec.getVolumes().forEach(v -> volumes.add(v.getName()));
            spec.getContainers().get(0).getVolumeMounts().forEach(m -> assertTrue(volumes.contains(m.getName()), dir + ": volume " + m.getName()));
            for (ServiceMonitor sm : all(objects, ServiceMonitor.class)) {
                String port = sm.getSpec().getEndpoints().get(0).getPort();
                assertTrue(all(objects, Service.class).stream().anyMatch(s -> selects(sm.getSpec().getSelector().getMatchLabels(), s.getMetadata().getLabels())
                        && s.getSpec().getPorts().stream().anyMatch(p -> port.equals(p.getName()))), dir + ": the ServiceMonitor finds port " + port);
            }
            EnvVar keys = spec.getContainers().get(0).getEnv().stream().filter(e -> e.getName().equals("PRINCIPIA_AUTH_API_KEYS")).findFirst().orElseThrow();
            assertEquals("principia-api-keys", keys.getValueFrom().getSecretKeyRef().getName(), dir + ": API keys come from a Secret");
        }
    }

    /** A tag with a version number, or a digest; never latest. */
    static boolean pinned(String image) {
        if (image.contains("@sha256:")) return true;
        int colon = image.lastIndexOf(':');
        if (colon < 0 || colon < image.lastIndexOf('/')) return false;
        String tag = image.substring(colon + 1);
        return tag.matches(".*\\d.*") && !tag.contains("latest");
    }

    @Test
    void imagesArePinned() throws IOException {
        for (String dir : DEPLOYABLE) {
            for (Container c : one(render(dir), Deployment.class).getSpec().getTemplate().getSpec().getContainers()) {
                assertTrue(pinned(c.getImage()), dir + ": image " + c.getImage() + " is not pinned");
            }
        }
        assertTrue(one(render("overlays/gpu"), Deployment.class).getSpec().getTemplate().getSpec().getContainers().get(0).getImage()
                .startsWith("principia-gpu:"), "the GPU overlay runs the GPU image");
        try (Stream<Path> dockerfiles = Files.list(Path.of("src/main/docker"))) {
            List<Path> files = dockerfiles.toList();
            assertTrue(files.size() >= 3, "Dockerfile.jvm, .native and .gpu: " + files);
            for (Path f : files) {
                for (String line : Files.readAllLines(f)) {
                    if (line.startsWith("FROM ")) assertTrue(pinned(line.split("\\s+")[1]), f + ": " + line);
                }
            }
        }
        assertFalse(pinned("eclipse-temurin:17-jre-latest"));
        assertFalse(pinned("principia"));
    }

    @Test
    void theGpuOverlayAsksForAGpuAndWaitsForTheEngineBuild() throws IOException {
        PodSpec gpu = one(render("overlays/gpu"), Deployment.class).getSpec().getTemplate().getSpec();
        Container c = gpu.getContainers().get(0);
        assertEquals(new Quantity("1"), c.getResources().getLimits().get("nvidia.com/gpu"));
        assertTrue(gpu.getTolerations().stream().anyMatch(t -> "nvidia.com/gpu".equals(t.getKey())), "tolerates GPU taints");
        Volume cache = gpu.getVolumes().stream().filter(v -> v.getName().equals("cache")).findFirst().orElseThrow();
        assertNotNull(cache.getPersistentVolumeClaim(), "exports and TensorRT plans persist");
        assertNull(cache.getEmptyDir(), "the base's emptyDir cache is replaced");
        Probe startup = c.getStartupProbe();
        assertTrue(startup.getPeriodSeconds() * startup.getFailureThreshold() >= 3600, "an hour for export and engine build");
        assertEquals("tensorrt", all(render("overlays/gpu"), ConfigMap.class).stream().filter(cm -> cm.getMetadata().getName().startsWith("principia-config"))
                .findFirst().orElseThrow().getData().get("PRINCIPIA_BACKEND"), "the GPU overlay insists on TensorRT");
        for (String dir : List.of("base", "overlays/cpu")) {
            assertTrue(all(render(dir), ConfigMap.class).stream().noneMatch(cm -> cm.getData().containsKey("PRINCIPIA_BACKEND")), dir + " leaves auto");
            Container cpu = one(render(dir), Deployment.class).getSpec().getTemplate().getSpec().getContainers().get(0);
            assertTrue(cpu.getResources() == null || cpu.getResources().getLimits() == null
                    || !cpu.getResources().getLimits().containsKey("nvidia.com/gpu"), dir + " needs no GPU");
        }
    }

    @Test
    void everyConfigKeySetIsDocumented() throws IOException {
        Set<String> documented = new HashSet<>();
        Matcher m = Pattern.compile("\\| `((?:principia|quarkus)\\.[a-z0-9.-]+)` \\|").matcher(Files.readString(Path.of("README.md")));
        while (m.find()) documented.add(m.group(1).toUpperCase().replaceAll("[^A-Z0-9]", "_"));
        assertTrue(documented.contains("PRINCIPIA_MODEL_DIR"), "README's configuration table was read");
        Set<String> used = new TreeSet<>();
        for (String dir : DEPLOYABLE) {
            List<HasMetadata> objects = render(dir);
            all(objects, ConfigMap.class).forEach(cm -> used.addAll(cm.getData().keySet()));
            for (Container c : one(objects, Deployment.class).getSpec().getTemplate().getSpec().getContainers()) {
                c.getEnv().stream().map(EnvVar::getName).filter(n -> n.startsWith("PRINCIPIA_") || n.startsWith("QUARKUS_")).forEach(used::add);
            }
        }
        assertTrue(used.contains("PRINCIPIA_MODEL_DIR") && used.contains("PRINCIPIA_AUTH_API_KEYS"), used.toString());
        for (String env : used) assertTrue(documented.contains(env), env + " is not a configuration key documented in README");
    }

    @Test
    void theAutoscalerScalesOnTheQueueMetricThePrometheusAdapterServes() throws IOException {
        for (String dir : DEPLOYABLE) {
            assertEquals(HPA_METRIC, one(render(dir), HorizontalPodAutoscaler.class).getSpec().getMetrics().get(0).getPods().getMetric().getName());
        }
        JsonNode rule = YAML.readTree(K8S.resolve("monitoring/prometheus-adapter-values.yaml").toFile()).at("/rules/custom/0");
        assertTrue(rule.path("seriesQuery").asText().startsWith(HPA_METRIC + "{"), rule.toString());
        assertEquals(HPA_METRIC, rule.at("/name/as").asText());
        assertEquals("pod", rule.at("/resources/overrides/pod/resource").asText());
    }
}
