package dev.principia;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.ZipFile;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * What native-image needs and cannot find by itself, checked against the libraries as shipped (this
 * machine has no native-image; see README, "Native executable"): every Java class the JNI libraries of
 * ONNX Runtime and DJL tokenizers look up is registered for JNI; every Jinjava filter, tag, test,
 * function and object class is registered for reflection (Jinjava instantiates and invokes them
 * reflectively); the resources the JNI loaders extract are included; every registered name exists.
 */
class NativeImageConfigTest {
    private static final Path CONFIG = Path.of("src/main/resources/META-INF/native-image/dev.principia/principia");
    private static final String ORT_JNI = "ai/onnxruntime/native/linux-x64/libonnxruntime4j_jni.so";
    private static final String ORT = "ai/onnxruntime/native/linux-x64/libonnxruntime.so";
    private static final String TOKENIZERS_JNI = "native/lib/linux-x86_64/cpu/libtokenizers.so";

    private static Set<String> registered(String file) throws IOException {
        Set<String> names = new TreeSet<>();
        for (JsonNode e : new ObjectMapper().readTree(CONFIG.resolve(file).toFile())) names.add(e.path("name").asText());
        return names;
    }

    /** JVM class names (a/b/C) a JNI library mentions under the given package prefixes. */
    private static Set<String> jniClassNames(String resource, String prefixes) throws IOException {
        byte[] bytes;
        try (InputStream in = NativeImageConfigTest.class.getClassLoader().getResourceAsStream(resource)) {
            assertNotNull(in, resource + " is on the class path");
            bytes = in.readAllBytes();
        }
        Matcher m = Pattern.compile("(?:" + prefixes + ")/[A-Za-z0-9_/$]*[A-Z][A-Za-z0-9_$]*")
                .matcher(new String(bytes, StandardCharsets.ISO_8859_1));
        Set<String> names = new TreeSet<>();
        while (m.find()) names.add(loadablePrefix(m.group().replace('/', '.')));
        return names;
    }

    /** Rust string tables glue constants together ("...EngineExceptionget_array"): the longest prefix that is a class. */
    private static String loadablePrefix(String name) {
        for (int end = name.length(); end > name.lastIndexOf('.') + 1; end--) {
            try {
                return Class.forName(name.substring(0, end), false, NativeImageConfigTest.class.getClassLoader()).getName();
            } catch (ClassNotFoundException e) {
                // shorter
            }
        }
        return name;
    }

    @Test
    void everyClassTheJniLibrariesLookUpIsRegisteredForJni() throws IOException {
        Set<String> jni = registered("jni-config.json");
        Set<String> ort = jniClassNames(ORT_JNI, "ai/onnxruntime");
        assertTrue(ort.contains("ai.onnxruntime.OnnxTensor"), "the ONNX Runtime JNI library was read: " + ort);
        Set<String> djl = jniClassNames(TOKENIZERS_JNI, "ai/djl|java/lang");
        assertTrue(djl.contains("ai.djl.huggingface.tokenizers.jni.CharSpan"), "the tokenizers JNI library was read: " + djl);
        for (Set<String> needed : List.of(ort, djl)) {
            Set<String> missing = new TreeSet<>(needed);
            missing.removeAll(jni);
            assertTrue(missing.isEmpty(), "register in jni-config.json: " + missing);
        }
    }

    @Test
    void everyJinjavaLibraryClassIsRegisteredForReflection() throws Exception {
        Set<String> reflect = registered("reflect-config.json");
        Path jar = Path.of(com.hubspot.jinjava.Jinjava.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        Set<String> library = new TreeSet<>();
        try (ZipFile zip = new ZipFile(jar.toFile())) {
            zip.stream().map(e -> e.getName()).filter(n -> n.matches("com/hubspot/jinjava/(lib|objects)/.*\\.class") && !n.matches(".*\\$\\d.*"))
                    .forEach(n -> library.add(n.substring(0, n.length() - 6).replace('/', '.')));
        }
        assertTrue(library.contains("com.hubspot.jinjava.lib.filter.JoinFilter"), "the Jinjava jar was read");
        library.removeAll(reflect);
        assertTrue(library.isEmpty(), "register in reflect-config.json: " + library);
        assertTrue(reflect.contains("dev.principia.model.ChatTemplate"), "raise_exception is bound by reflection");
    }

    @Test
    void everyRegisteredNameIsARealClass() throws IOException {
        List<String> unknown = new ArrayList<>();
        for (String file : List.of("jni-config.json", "reflect-config.json")) {
            for (String name : registered(file)) {
                try {
                    Class.forName(name, false, getClass().getClassLoader());
                } catch (ClassNotFoundException e) {
                    unknown.add(file + ": " + name);
                }
            }
        }
        assertTrue(unknown.isEmpty(), "no such classes: " + unknown);
    }

    @Test
    void resourcesTheNativeLoadersExtractAreIncluded() throws IOException {
        Properties app = new Properties();
        try (InputStream in = Files.newInputStream(Path.of("src/main/resources/application.properties"))) {
            app.load(in);
        }
        String includes = app.getProperty("quarkus.native.resources.includes");
        assertNotNull(includes, "quarkus.native.resources.includes is set");
        List<PathMatcher> globs = new ArrayList<>();
        for (String glob : includes.split(",")) globs.add(FileSystems.getDefault().getPathMatcher("glob:" + glob.strip()));
        List<String> needed = new ArrayList<>(List.of(ORT, ORT_JNI, TOKENIZERS_JNI, "native/lib/tokenizers.properties"));
        try (var prompts = Files.list(Path.of("src/main/resources/principia/prompts"))) {
            prompts.forEach(p -> needed.add("principia/prompts/" + p.getFileName()));
        }
        needed.add("principia/default-model/tokenizer.json.gz");
        for (String resource : needed) {
            assertNotNull(getClass().getClassLoader().getResource(resource), resource + " exists");
            assertTrue(globs.stream().anyMatch(g -> g.matches(Path.of(resource))), resource + " is not in quarkus.native.resources.includes");
        }
        assertFalse(app.getProperty("quarkus.native.builder-image", "").endsWith(":jdk-25"), "the Mandrel builder image is pinned to a release");
    }
}
