package dev.principia.server;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Inject;

import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.HealthCheckResponseBuilder;
import org.eclipse.microprofile.health.Liveness;
import org.eclipse.microprofile.health.Readiness;


/**
 * SmallRye Health: {@code /q/health/live} is UP while the process answers — whatever the model's
 * state, so a model that fails to load does not end in a restart loop; {@code /q/health/ready} is UP
 * only while the GRM is SERVING (the same state as gRPC health for {@code principia.v1.RewardService}).
 */
@ApplicationScoped
public class ModelHealthChecks {

    @Inject
    ModelRuntime runtime;

    @Produces
    @Liveness
    HealthCheck process() {
        return () -> HealthCheckResponse.named("principia-process").up().withData("model", runtime.state().name()).build();
    }

    @Produces
    @Readiness
    HealthCheck model() {
        return () -> {
            ModelRuntime.State state = runtime.state();
            HealthCheckResponseBuilder b = HealthCheckResponse.named("principia-model").withData("state", state.name());
            if (state == ModelRuntime.State.SERVING) return b.up().build();
            return b.withData("reason", runtime.notServingReason()).down().build();
        };
    }
}
