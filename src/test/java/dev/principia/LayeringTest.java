package dev.principia;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Only {@code server} may know Quarkus, CDI, Mutiny, gRPC and Micrometer; dependencies point one way. */
class LayeringTest {
    private static JavaClasses classes;

    @BeforeAll
    static void importClasses() {
        classes = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("dev.principia");
    }

    @Test
    void corePackagesAreFrameworkFree() {
        noClasses().that().resideInAnyPackage("dev.principia.grm..", "dev.principia.budget..", "dev.principia.engine..",
                        "dev.principia.model..", "dev.principia.backend..")
                .should().dependOnClassesThat().resideInAnyPackage("io.quarkus..", "jakarta.enterprise..", "jakarta.inject..",
                        "io.smallrye.mutiny..", "io.grpc..", "io.micrometer..", "dev.principia.api..")
                .because("core code is plain Java, testable in milliseconds; only server knows frameworks")
                .check(classes);
    }

    @Test
    void clientCommandsAreClientsOfTheProtoLikeAnyUser() {
        noClasses().that().resideInAPackage("dev.principia.cli..")
                .should().dependOnClassesThat().resideInAnyPackage("io.quarkus..", "jakarta.enterprise..", "jakarta.inject..",
                        "io.smallrye.mutiny..", "io.micrometer..", "dev.principia.server..", "dev.principia.grm..",
                        "dev.principia.budget..", "dev.principia.engine..", "dev.principia.model..", "dev.principia.backend..")
                .because("score and collect talk to a server over gRPC, as a user's client would")
                .check(classes);
        noClasses().that().resideOutsideOfPackage("dev.principia.cli..").and().doNotHaveFullyQualifiedName("dev.principia.server.Main")
                .and().doNotHaveFullyQualifiedName("dev.principia.server.Main$Demo")
                .should().dependOnClassesThat().resideInAPackage("dev.principia.cli..")
                .check(classes);
    }

    @Test
    void onlyTheWiringClassOfTheServerKnowsModelsAndBackends() {
        noClasses().that().resideInAPackage("dev.principia.server..")
                .and().doNotHaveFullyQualifiedName("dev.principia.server.ModelRuntime")
                .and().doNotHaveFullyQualifiedName("dev.principia.server.GrmLoader")
                .and().doNotHaveFullyQualifiedName("dev.principia.server.GrmLoader$Loaded")
                .and().doNotHaveFullyQualifiedName("dev.principia.server.TensorRtLoading")
                .and().doNotHaveFullyQualifiedName("dev.principia.server.TensorRtLoading$Classifier")
                .and().doNotHaveFullyQualifiedName("dev.principia.server.GrmBackends")
                .and().doNotHaveFullyQualifiedName("dev.principia.server.GrmBackends$Opened")
                .should().dependOnClassesThat().resideInAnyPackage("dev.principia.model..", "dev.principia.backend..")
                .because("ModelRuntime (with GrmLoader and GrmBackends) loads models and backends; the gRPC layer sees the scorer and plain records")
                .check(classes);
    }

    /**
     * TensorRT and CUDA classes fail to link without an NVIDIA driver, so they stay in {@code backend.tensorrt.javacpp},
     * which nothing references: {@code TensorRtProbe} reaches it reflectively, by name, after checking the driver.
     */
    @Test
    void onlyTheJavacppSideLinksTensorRtAndNothingLinksIt() {
        String side = "dev.principia.backend.tensorrt.javacpp..";
        noClasses().that().resideOutsideOfPackage(side).should().dependOnClassesThat().resideInAPackage("org.bytedeco..")
                .because("a class that links org.bytedeco fails to load on a machine without the NVIDIA driver").check(classes);
        noClasses().that().resideOutsideOfPackage(side).should().dependOnClassesThat().resideInAPackage(side)
                .because("the TensorRT side is loaded only reflectively, after TensorRtProbe found a driver and the JNI jars").check(classes);
        boolean linked = classes.stream().filter(c -> c.getPackageName().equals("dev.principia.backend.tensorrt.javacpp"))
                .anyMatch(c -> c.getDirectDependenciesFromSelf().stream().anyMatch(d -> d.getTargetClass().getPackageName().startsWith("org.bytedeco")));
        org.junit.jupiter.api.Assertions.assertTrue(linked, "the rule above watches the package that really links TensorRT");
    }

    @Test
    void dependenciesPointOneWay() {
        noClasses().that().resideInAnyPackage("dev.principia.grm..", "dev.principia.budget..", "dev.principia.engine..",
                        "dev.principia.model..", "dev.principia.backend..")
                .should().dependOnClassesThat().resideInAPackage("dev.principia.server..").check(classes);
        noClasses().that().resideInAnyPackage("dev.principia.engine..", "dev.principia.budget..", "dev.principia.backend..",
                        "dev.principia.model..")
                .should().dependOnClassesThat().resideInAPackage("dev.principia.grm..").check(classes);
        noClasses().that().resideInAnyPackage("dev.principia.backend..", "dev.principia.model..")
                .should().dependOnClassesThat().resideInAnyPackage("dev.principia.engine..", "dev.principia.budget..")
                .check(classes);
        noClasses().that().resideInAPackage("dev.principia.model..")
                .should().dependOnClassesThat().resideInAPackage("dev.principia.backend..").check(classes);
    }
}
