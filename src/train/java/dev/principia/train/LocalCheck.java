package dev.principia.train;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * Teaches the layers above a frozen base the check that base can do: whether each digit of a judgment's working is
 * the one the base would have written there. The comparison needs the prediction made at the token before, which a
 * sequence label (one slip per some 40 digits) never taught extra layers to fetch; here every part gets its own
 * labels, computed from the frozen base in the same forward pass, so they cost nothing:
 *
 * <ul>
 *   <li><b>distill</b> ({@code --distill W}): the first extra layer's attention output at token p, read through the
 *       base's own final norm and LM head, should give the base's next-token distribution at p - 1 (KL, every token
 *       of the principles and critique): a previous-token head that carries the prediction to the written token;
 *   <li><b>local</b> ({@code --local W}): the classifier head, read on the residual stream after that layer through
 *       the base's final norm, should be negative exactly at the working's digits that are not the base's most
 *       likely token at the token before, and positive at every other token ({@link #targets});
 *       {@code --corrupt R} makes mismatches to learn from, {@code --unsure P} leaves out digits the base was not
 *       sure of;
 *   <li><b>fit</b> ({@code --fit-local EPOCHS}, {@link #fit}): the same local loss on that layer's MLP alone, over
 *       its inputs cached once, and a second readout that tells the working's digits from other tokens;
 *   <li><b>minimum</b> ({@code --min-layer GAIN}, {@link #minLayer}): the layer above, written rather than trained,
 *       returns a soft minimum of the check over the working's digits at the last token, the one the server reads.
 * </ul>
 *
 * The teacher's final norm is the model's own at construction: the base's when the extra layers are new, and still
 * the base's in a model continued from a local-only or fitted run (neither trains it). A model whose head was trained
 * with the sequence loss has moved it, and must not be continued with {@code --base-layers}.
 */
final class LocalCheck {
    private final int baseLayers, layers;
    private final boolean[] digit;
    private final double distill, local;
    private double unsure;
    /** After {@link #fit}: a readout of the check layer's output, 0 at the digits it checks and -1 elsewhere. */
    private Tensor checked;
    private final Tensor normWeight;
    private long matchRight, matches, mismatchRight, mismatches;
    private double distillSum;
    private long distillBatches;

    LocalCheck(Net net, int baseLayers, boolean[] digit, double distill, double local) {
        if (net.config.numHiddenLayers() <= baseLayers) throw new IllegalArgumentException("--distill and --local need --extra-layers N > 0");
        this.baseLayers = baseLayers;
        this.layers = net.config.numHiddenLayers();
        this.digit = digit;
        this.distill = distill;
        this.local = local;
        try (NoGradGuard g = new NoGradGuard()) {
            this.normWeight = net.params.get("model.norm.weight").detach().clone(); // the base's, before the head moves it
        }
    }

    /** Leaves out of the check the digits the base gives at least {@code p} without writing them itself ({@code --unsure P}). */
    LocalCheck unsure(double p) {
        this.unsure = p;
        return this;
    }

    /** Taps for {@link Net#hidden(Tensor, Tensor[])}. */
    Tensor[] taps() {
        return new Tensor[2 * layers];
    }

    /** The frozen base's next-token logits [B, T, vocab], read from the taps with its own final norm. */
    Tensor baseLogits(Net net, Tensor[] taps) {
        return net.logits(net.norm(taps[baseLayers - 1], normWeight));
    }

    /** The targets of {@code batch} ({@code ids} [B, T]) from the base's logits [B, T, vocab] on it. */
    private Targets targets(Tensor logits, Tensor ids, List<MetaTrain.Sample> batch) {
        long[] argmax = new long[Math.toIntExact(ids.numel())];
        torch.argmax(logits, new LongOptional(-1), false).contiguous().data_ptr_long().get(argmax);
        return targets(argmax, unsure > 0 ? written(logits, ids) : null, unsure, batch, (int) ids.size(1), digit);
    }

    /** The weighted sum of both losses on {@code batch} ([B, T] inputs right-padded as {@link MetaTrain#tensors}). */
    Tensor loss(Net net, Tensor[] taps, Tensor ids, List<MetaTrain.Sample> batch, int t) {
        int b = batch.size();
        Tensor teacher;
        Targets targets;
        try (NoGradGuard g = new NoGradGuard()) {
            Tensor logits = baseLogits(net, taps);
            teacher = torch.log_softmax(logits, -1).narrow(1, 0, t - 1);
            targets = targets(logits, ids, batch);
        }
        float[] span = targets.span(), y = targets.y(), w = targets.w();
        Tensor loss = torch.zeros(new long[] {});
        if (distill > 0) {
            Tensor student = torch.log_softmax(net.logits(net.norm(taps[layers + baseLayers], normWeight)), -1).narrow(1, 1, t - 1);
            Tensor mask = Net.floats(span, b, t - 1);
            Tensor d = teacher.exp().mul(teacher.sub(student)).mul(mask.unsqueeze(-1)).sum().div(mask.sum().clamp_min(new Scalar(1)));
            distillSum += d.item_float();
            distillBatches++;
            loss = loss.add(d.mul(new Scalar(distill)));
        }
        if (local > 0) {
            Tensor scores = net.scores(net.norm(taps[baseLayers], normWeight));
            loss = loss.add(ProcessLabels.loss(scores, Net.floats(y, b, t), Net.floats(w, b, t)).mul(new Scalar(local)));
            float[] sc = new float[b * t];
            scores.detach().contiguous().data_ptr_float().get(sc);
            for (int i = 0; i < b * t; i++) {
                if (w[i] == 0) continue;
                if (y[i] == 1) {
                    matches++;
                    if (sc[i] > 0) matchRight++;
                } else {
                    mismatches++;
                    if (sc[i] <= 0) mismatchRight++;
                }
            }
        }
        return loss;
    }

    /**
     * What {@link #loss} trains on: {@code span} [B, T-1], 1 at p - 1 where token p is in the principles and critique
     * (a {@link ProcessLabels} label other than NONE); {@code y} [B, T], 0 at each digit there that is not the base's
     * most likely token at p - 1 ({@code argmax} [B*T]), 1 at every other token of the input (the digits it would have
     * written, and everything outside the working, where nothing is checked); {@code w} [B, T]: the mismatches share
     * half the weight, the matching digits and the other tokens a quarter each (a group absent leaves its share to
     * the others); {@code kind} [B, T]: 1 a mismatch, 2 a matching digit, 3 another token, 0 padding or left out.
     */
    record Targets(float[] span, float[] y, float[] w, byte[] kind) {
    }

    static Targets targets(long[] argmax, List<MetaTrain.Sample> batch, int t, boolean[] digit) {
        return targets(argmax, null, 0, batch, t, digit);
    }

    /**
     * As {@link #targets(long[], List, int, boolean[])}; where {@code written} [B*T] (the base's probability at p - 1
     * of the token at p) is given, a digit that is not the base's most likely but that it gives at least
     * {@code unsure} is left out (weight 0, kind 0): the base was not sure there, and a check that must flag it or
     * keep it learns noise.
     */
    static Targets targets(long[] argmax, float[] written, double unsure, List<MetaTrain.Sample> batch, int t, boolean[] digit) {
        int b = batch.size();
        float[] span = new float[b * (t - 1)], y = new float[b * t], w = new float[b * t];
        byte[] kind = new byte[b * t]; // 0: padding or first token, 1: mismatch, 2: matching digit, 3: other token
        int[] count = new int[4];
        for (int k = 0; k < b; k++) {
            MetaTrain.Sample s = batch.get(k);
            for (int p = 0; p < s.tokens().length; p++) {
                int tok = s.tokens()[p];
                boolean inSpan = p > 0 && s.process()[p] != ProcessLabels.NONE;
                if (inSpan) span[k * (t - 1) + p - 1] = 1;
                boolean checked = inSpan && tok >= 0 && tok < digit.length && digit[tok];
                kind[k * t + p] = (byte) (!checked ? 3 : argmax[k * t + p - 1] == tok ? 2
                        : written != null && written[k * t + p] >= unsure ? 0 : 1);
                count[kind[k * t + p]]++;
            }
        }
        double wMismatch = count[2] + count[3] == 0 ? 1 : count[1] == 0 ? 0 : 0.5;
        double rest = 1 - (count[1] == 0 ? 0 : wMismatch);
        double wMatch = count[2] == 0 ? 0 : count[3] == 0 ? rest : rest / 2, wOther = count[3] == 0 ? 0 : rest - wMatch;
        double[] per = {0, wMismatch / Math.max(1, count[1]), wMatch / Math.max(1, count[2]), wOther / Math.max(1, count[3])};
        for (int i = 0; i < b * t; i++) {
            if (kind[i] == 0) continue;
            y[i] = kind[i] == 1 ? 0 : 1;
            w[i] = (float) per[kind[i]];
        }
        return new Targets(span, y, w, kind);
    }

    /** The base's probability at p - 1 of the token at p, [B*T] (0 at p = 0), from its logits [B, T, vocab]. */
    static float[] written(Tensor logits, Tensor ids) {
        int b = (int) ids.size(0), t = (int) ids.size(1);
        float[] out = new float[b * t];
        float[] g = new float[b * (t - 1)];
        torch.softmax(logits.narrow(1, 0, t - 1), -1).gather(2, ids.narrow(1, 1, t - 1).unsqueeze(-1)).contiguous().data_ptr_float().get(g);
        for (int k = 0; k < b; k++) System.arraycopy(g, k * (t - 1), out, k * t + 1, t - 1);
        return out;
    }

    /**
     * {@code batch} with a share {@code rate} of the digits in each sample's principles and critique replaced by another
     * digit (for {@code --corrupt}): digits the base would not have written, as many as the local check needs to learn
     * from, labelled as any other by {@link #targets}. The samples' own labels are not changed; a corrupted sample is
     * meant for the local check alone ({@code --local-only}).
     */
    static List<MetaTrain.Sample> corrupt(List<MetaTrain.Sample> batch, double rate, boolean[] digit, Random rnd) {
        int[] ids = new int[10];
        int n = 0;
        for (int i = 0; i < digit.length && n < 10; i++) if (digit[i]) ids[n++] = i;
        List<MetaTrain.Sample> out = new ArrayList<>(batch.size());
        for (MetaTrain.Sample s : batch) {
            int[] tokens = s.tokens().clone();
            for (int p = 1; p < tokens.length; p++) {
                if (s.process()[p] == ProcessLabels.NONE || !digit[tokens[p]] || rnd.nextDouble() >= rate) continue;
                int other;
                do other = ids[rnd.nextInt(n)]; while (other == tokens[p]);
                tokens[p] = other;
            }
            out.add(new MetaTrain.Sample(tokens, s.trusted(), s.valid(), s.scores(), s.process(), s.departs(), s.source()));
        }
        return out;
    }

    /**
     * {@code --fit-local EPOCHS}: fits the first extra layer's MLP to the local check alone, on that layer's inputs
     * cached once over {@code batches} (each sample's digits corrupted at {@code corrupt}; the attention above the base
     * already trained, e.g. by {@code --distill}), many epochs in seconds each where a pass through the model takes
     * minutes. Reports, on a twentieth of the digits kept apart, how many matches score positive and mismatches
     * negative.
     */
    void fit(Net net, List<List<MetaTrain.Sample>> batches, int pad, double corrupt, int epochs, double lr, Random rnd) {
        List<Tensor> xs = new ArrayList<>(), ys = new ArrayList<>();
        List<Byte> kinds = new ArrayList<>();
        long start = System.nanoTime();
        int done = 0;
        for (List<MetaTrain.Sample> raw : batches) {
            List<MetaTrain.Sample> batch = corrupt(raw, corrupt, digit, rnd);
            try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
                Tensor[] t = MetaTrain.tensors(batch, pad);
                int len = (int) t[0].size(1), b = batch.size();
                Tensor[] taps = taps();
                net.hidden(t[0], taps);
                Targets targets = targets(baseLogits(net, taps), t[0], batch);
                List<Long> at = new ArrayList<>();
                for (int k = 0; k < b; k++) {
                    MetaTrain.Sample s = batch.get(k);
                    for (int p = 0; p < s.tokens().length; p++) {
                        int i = k * len + p;
                        byte kind = targets.kind()[i];
                        if (kind == 0 || kind == 3 && rnd.nextInt(10) != 0) continue; // a tenth of the unchecked tokens
                        at.add((long) i);
                        kinds.add(kind);
                    }
                }
                long[] idx = new long[at.size()];
                float[] y = new float[at.size()];
                for (int i = 0; i < idx.length; i++) {
                    idx[i] = at.get(i);
                    y[i] = targets.y()[(int) idx[i]];
                }
                Tensor x1 = taps[baseLayers - 1].add(taps[layers + baseLayers]).reshape(-1, normWeight.size(0));
                Tensor sel = x1.index_select(0, Net.longs(idx, idx.length)).clone();
                Tensor ly = Net.floats(y, y.length);
                sel.retainReference();
                ly.retainReference();
                xs.add(sel);
                ys.add(ly);
            }
            done++;
            double secs = (System.nanoTime() - start) / 1e9;
            Train.progress(done, batches.size(), 0, Double.NaN, 0, secs);
        }
        TensorVector xv = new TensorVector(), yv = new TensorVector();
        for (Tensor x : xs) xv.push_back(x);
        for (Tensor y : ys) yv.push_back(y);
        Tensor x = torch.cat(xv, 0), y = torch.cat(yv, 0);
        long n = x.size(0);
        float[] yf = new float[(int) n];
        y.contiguous().data_ptr_float().get(yf);
        int[] perm = new int[(int) n];
        for (int i = 0; i < n; i++) perm[i] = i;
        for (int i = perm.length - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1), tmp = perm[i];
            perm[i] = perm[j];
            perm[j] = tmp;
        }
        int test = (int) (n / 20);
        long[] count = new long[4];
        for (int i = test; i < n; i++) count[kinds.get(perm[i])]++;
        double[] per = {0, 0.5 / Math.max(1, count[1]), 0.25 / Math.max(1, count[2]), 0.25 / Math.max(1, count[3])};
        System.out.printf(Locale.ROOT, "%nfit-local: %d tokens cached (for training %d mismatched digits, %d matching, %d others; %d kept apart)%n",
                n, count[1], count[2], count[3], test);
        String pre = "model.layers." + baseLayers + ".";
        checked = net.auxiliary("local.checked", normWeight.size(0));
        float[] isChecked = new float[(int) n], wChecked = new float[(int) n];
        long nChecked = count[1] + count[2];
        for (int i = 0; i < n; i++) {
            boolean c = kinds.get(i) != 3;
            isChecked[i] = c ? 0 : -1;
            wChecked[i] = (float) (c ? 0.5 / Math.max(1, nChecked) : 0.5 / Math.max(1, count[3]));
        }
        Tensor yChecked = Net.floats(isChecked, n), wc = Net.floats(wChecked, n);
        int batch = 4096, step = 0;
        int stepsPerEpoch = (int) ((n - test + batch - 1) / batch);
        for (int e = 0; e < epochs; e++) {
            for (int from = test; from < n; from += batch) {
                int to = (int) Math.min(n, from + batch);
                long[] idx = new long[to - from];
                float[] w = new float[to - from];
                for (int i = from; i < to; i++) {
                    idx[i - from] = perm[i];
                    w[i - from] = (float) (per[kinds.get(perm[i])] * (n - test));
                }
                try (PointerScope scope = new PointerScope()) {
                    Tensor ix = Net.longs(idx, idx.length);
                    Tensor states = fitStates(net, pre, x.index_select(0, ix));
                    Tensor loss = ProcessLabels.loss(net.scores(states), y.index_select(0, ix), Net.floats(w, w.length));
                    // the second readout: where the check applies (squared error, checked and other tokens half each)
                    Tensor r = states.matmul(checked).sub(yChecked.index_select(0, ix));
                    Tensor wr = wc.index_select(0, ix);
                    loss = loss.add(r.mul(r).mul(wr).sum().div(wr.sum()));
                    loss.backward();
                    step++;
                    net.step(step, lr * Train.schedule(step, epochs * stepsPerEpoch), 0.0, 1.0);
                }
            }
            long[] idx = new long[test];
            for (int i = 0; i < test; i++) idx[i] = perm[i];
            float[] sc = new float[test], rc = new float[test];
            try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
                Tensor states = fitStates(net, pre, x.index_select(0, Net.longs(idx, test)));
                net.scores(states).contiguous().data_ptr_float().get(sc);
                states.matmul(checked).contiguous().data_ptr_float().get(rc);
            }
            long[] all = new long[4], right = new long[4];
            long where = 0;
            for (int i = 0; i < test; i++) {
                int k = kinds.get(perm[i]);
                all[k]++;
                if ((sc[i] > 0) == (k != 1)) right[k]++;
                if ((rc[i] > -0.5) == (k != 3)) where++;
            }
            System.out.printf(Locale.ROOT, "  where the check applies, told apart at %.4f of kept-apart tokens%n", (double) where / test);
            System.out.printf(Locale.ROOT, "fit-local epoch %d, kept apart: mismatched digits negative %.4f (%d), matching digits positive %.4f (%d), "
                    + "other tokens positive %.4f (%d), %.0f s%n", e + 1, (double) right[1] / Math.max(1, all[1]), all[1],
                    (double) right[2] / Math.max(1, all[2]), all[2], (double) right[3] / Math.max(1, all[3]), all[3], (System.nanoTime() - start) / 1e9);
        }
    }

    /**
     * {@code --min-layer 1}: writes the layer above the check layer so that the classifier reads, at the last token, a
     * soft minimum of the local check over every token before it: a sample with one digit the base would not have
     * written scores negative however many right ones surround it. Nothing in it is learned; it is a construction:
     * <ul>
     *   <li>its input norm is the one the local check reads through, so the check's score is a linear function
     *       {@code w . h} of that layer's input {@code h} ({@code w} the classifier head);</li>
     *   <li>head 0 uses the slowest rotary pair (dims 15 and 31 of 32: under 0.2 rad over 1,000 positions), so its
     *       attention is by content alone: the key is {@code -sharpness * sqrt(headDim) * w . h}, the query the mean
     *       last-token input of {@code calibration} scaled to 1 there, so each token is weighted by
     *       {@code exp(-sharpness * check)};</li>
     *   <li>its value is the check itself ({@code w . h}), so the head returns the soft minimum, and the output
     *       projection adds it along the direction the head reads at the last token, {@code gain} times the typical
     *       size of the residual stream there;</li>
     *   <li>the other heads' output projection and the MLP's are zero (they add nothing).</li>
     * </ul>
     */
    void minLayer(Net net, List<MetaTrain.Sample> calibration, int pad, double sharpness, double gain) {
        int layer = baseLayers + 1, hidden = (int) normWeight.size(0);
        if (layer >= layers) throw new IllegalArgumentException("--min-layer needs --extra-layers 2 or more (the check layer and the minimum above it)");
        String pre = "model.layers." + layer + ".";
        int headDim = net.config.headDim(), slow = headDim / 2 - 1;
        float[] w = net.values("score.weight"), gFinal = net.values("model.norm.weight");
        float[] mean = new float[hidden];
        double residual = 0;
        try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
            Tensor[] t = MetaTrain.tensors(calibration, pad);
            Tensor[] taps = taps();
            net.hidden(t[0], taps);
            Tensor x = taps[baseLayers].reshape(-1, hidden).index_select(0, t[1]);
            Tensor h = net.norm(x, normWeight).mean(new long[] {0}, false, new ScalarTypeOptional()).contiguous();
            h.data_ptr_float().get(mean);
            residual = x.pow(new Scalar(2)).sum().div(new Scalar(calibration.size())).item_float();
        }
        residual = Math.sqrt(residual); // root-mean-square norm of the last token's residual stream
        double mm = 0;
        for (float v : mean) mm += v * v;
        float[] q = new float[net.config.numAttentionHeads() * headDim * hidden];
        float[] k = new float[net.config.numKeyValueHeads() * headDim * hidden];
        float[] v = new float[net.config.numKeyValueHeads() * headDim * hidden];
        float[] o = new float[hidden * net.config.numAttentionHeads() * headDim];
        double keyScale = -sharpness * Math.sqrt(headDim);
        float[] where = checked == null ? null : Net.values(checked);
        for (int j = 0; j < hidden; j++) {
            q[slow * hidden + j] = (float) (mean[j] / mm);
            // with the fitted readout of where the check applies, tokens it does not apply to are pushed out of the
            // minimum (their key lowered by 10 * sharpness): only the working's digits are compared
            k[slow * hidden + j] = (float) (keyScale * w[j] + (where == null ? 0 : 10 * sharpness * Math.sqrt(headDim) * where[j]));
            v[j] = w[j];
        }
        double uu = 0;
        for (int j = 0; j < hidden; j++) uu += Math.pow(w[j] * gFinal[j], 2);
        // u = (w * gFinal) / |w * gFinal|^2 reads 1 through the head; scaled so that a check of 1 adds gain times the
        // residual stream's size
        double scale = gain * residual / Math.sqrt(1.0 / uu);
        for (int j = 0; j < hidden; j++) o[j * net.config.numAttentionHeads() * headDim] = (float) (scale * w[j] * gFinal[j] / uu);
        net.set(pre + "input_layernorm.weight", Net.values(normWeight));
        net.set(pre + "self_attn.q_proj.weight", q);
        net.set(pre + "self_attn.k_proj.weight", k);
        net.set(pre + "self_attn.v_proj.weight", v);
        net.set(pre + "self_attn.o_proj.weight", o);
        net.set(pre + "mlp.down_proj.weight", new float[Math.toIntExact(net.params.get(pre + "mlp.down_proj.weight").numel())]);
        System.out.printf(Locale.ROOT, "min layer %d written: sharpness %.1f, gain %.1f, last-token residual %.2f%n", layer, sharpness, gain, residual);
    }

    /** The check layer's normed output for cached residuals {@code x1} [N, hidden] (after its attention). */
    private Tensor fitStates(Net net, String pre, Tensor x1) {
        Tensor h = net.norm(x1, net.params.get(pre + "post_attention_layernorm.weight"));
        Tensor g = torch.silu(h.matmul(net.params.get(pre + "mlp.gate_proj.weight").t()));
        Tensor u = h.matmul(net.params.get(pre + "mlp.up_proj.weight").t());
        Tensor x2 = x1.add(g.mul(u).matmul(net.params.get(pre + "mlp.down_proj.weight").t()));
        return net.norm(x2, normWeight);
    }

    /** Since the last call: the mean distillation KL, and how often the local check agreed with the base's argmax. */
    String summary() {
        String s = String.format(Locale.ROOT, "local check: distill KL %.3f; tokens that should pass (digits the base would write, and all but the working's digits) scored positive %.4f (%d), mismatched digits negative %.4f (%d)",
                distillSum / Math.max(1, distillBatches), (double) matchRight / Math.max(1, matches), matches,
                (double) mismatchRight / Math.max(1, mismatches), mismatches);
        matchRight = matches = mismatchRight = mismatches = distillBatches = 0;
        distillSum = 0;
        return s;
    }
}
