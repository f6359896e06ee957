package dev.principia;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;

/** The Kubernetes manifests, checked offline against the server's ports, health service and config keys. */
public class KubernetesManifestsTest {
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static final Path K8S = Path.of("k8s");

    @Test
    void kustomizationsReferenceExistingFiles() throws IOException {
        try (Stream<Path> files = Files.walk(K8S)) {
            List<Path> kustomizations = files.filter(p -> p.getFileName().toString().equals("kustomization.yaml")).toList();
            assertTrue(kustomizations.size() >= 2, "base and at least one overlay");
            for (Path k : kustomizations) {
                JsonNode doc = YAML.readTree(k.toFile());
                for (JsonNode r : doc.path("resources")) {
                    assertTrue(Files.exists(k.resolveSibling(r.asText())), k + " names missing resource " + r.asText());
                }
                for (JsonNode p : doc.path("patches")) {
                    assertTrue(Files.exists(k.resolveSibling(p.path("path").asText())), k + " names missing patch " + p);
                }
            }
        }
    }

    @Test
    void deploymentMatchesServerPortsAndHealth() throws IOException {
        Properties app = new Properties();
        try (InputStream in = Files.newInputStream(Path.of("src/main/resources/application.properties"))) {
            app.load(in);
        }
        int grpcPort = Integer.parseInt(app.getProperty("quarkus.grpc.server.port"));
        int httpPort = Integer.parseInt(app.getProperty("quarkus.http.port"));
        JsonNode container = YAML.readTree(K8S.resolve("base/deployment.yaml").toFile()).at("/spec/template/spec/containers/0");
        for (JsonNode port : container.path("ports")) {
            int expected = port.path("name").asText().equals("grpc") ? grpcPort : httpPort;
            assertEquals(expected, port.path("containerPort").asInt(), port.toString());
        }
        for (String probe : List.of("startupProbe", "readinessProbe", "livenessProbe")) {
            assertEquals(grpcPort, container.path(probe).path("grpc").path("port").asInt(), probe + " checks gRPC health");
        }
        assertEquals("principia.v1.RewardService", container.at("/readinessProbe/grpc/service").asText());
        JsonNode annotations = YAML.readTree(K8S.resolve("base/deployment.yaml").toFile()).at("/spec/template/metadata/annotations");
        assertEquals(String.valueOf(httpPort), annotations.path("prometheus.io/port").asText());
        assertEquals(app.getProperty("quarkus.micrometer.export.prometheus.path"), annotations.path("prometheus.io/path").asText());
    }

    @Test
    void everyEnvironmentSettingIsADocumentedConfigKey() throws IOException {
        Set<String> documented = new HashSet<>();
        Matcher m = Pattern.compile("\\| `(principia\\.[a-z0-9.-]+)` \\|").matcher(Files.readString(Path.of("README.md")));
        while (m.find()) documented.add(m.group(1).toUpperCase().replaceAll("[^A-Z0-9]", "_"));
        assertTrue(documented.contains("PRINCIPIA_MODEL_DIR"), "README's configuration table was read");
        List<String> used = new ArrayList<>();
        used.addAll(iterable(YAML.readTree(K8S.resolve("base/configmap.yaml").toFile()).path("data").fieldNames()));
        for (JsonNode literal : YAML.readTree(K8S.resolve("overlays/cpu/kustomization.yaml").toFile()).at("/configMapGenerator/0/literals")) {
            used.add(literal.asText().substring(0, literal.asText().indexOf('=')));
        }
        for (String env : used) assertTrue(documented.contains(env), env + " is not a principia.* key documented in README");
    }

    /** The HPA's metric; RewardServiceTest checks the server really exports it at /q/metrics. */
    public static final String HPA_METRIC = "principia_engine_requests_pending";

    @Test
    void autoscalerUsesTheEngineQueueMetric() throws IOException {
        String metric = YAML.readTree(K8S.resolve("base/hpa.yaml").toFile()).at("/spec/metrics/0/pods/metric/name").asText();
        assertEquals(HPA_METRIC, metric);
    }

    private static List<String> iterable(java.util.Iterator<String> it) {
        List<String> out = new ArrayList<>();
        it.forEachRemaining(out::add);
        return out;
    }
}
