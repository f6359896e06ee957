package dev.principia.server;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/** {@code principia.openrlhf.*}: the OpenRLHF remote reward model endpoint, {@code POST /get_reward}. README documents each key. */
@ConfigMapping(prefix = "principia.openrlhf")
public interface OpenRlhfConfig {

    /** How rendered prompts are turned back into conversations: auto, chatml, llama3, gemma or none. */
    @WithDefault("auto")
    String chatFormat();

    /** GRM samples per group of responses; 0 = principia.defaults.samples. */
    @WithDefault("0")
    int samples();

    /**
     * Deadline of one call; anytime scoring answers from the samples finished by then. Below the
     * trainer's own timeout (OpenRLHF: 180 s), so an answer arrives before the trainer retries.
     */
    @WithDefault("150000")
    long deadlineMs();
}
