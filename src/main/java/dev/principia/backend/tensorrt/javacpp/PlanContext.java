package dev.principia.backend.tensorrt.javacpp;

import org.bytedeco.cuda.cudart.*;
import org.bytedeco.javacpp.*;
import org.bytedeco.tensorrt.nvinfer.*;

import static org.bytedeco.cuda.global.cudart.*;

/** One deserialized engine with its execution context and CUDA stream, and a pinned host staging buffer. */
final class PlanContext implements AutoCloseable {
    private final ICudaEngine engine;
    private final IExecutionContext context;
    final CUstream_st stream;
    final Pointer host;
    private int profile = -1;

    PlanContext(ICudaEngine engine, long hostBytes) {
        this.engine = engine;
        this.stream = new CUstream_st();
        Cuda.check(cudaStreamCreate(stream), "cudaStreamCreate");
        this.context = engine.createExecutionContext();
        Cuda.check(context != null && !context.isNull(), "createExecutionContext");
        host = new Pointer();
        Cuda.check(cudaMallocHost(host, hostBytes), "cudaMallocHost(" + hostBytes + " bytes)");
    }

    void profile(int p) {
        if (p == profile) return;
        Cuda.check(context.setOptimizationProfileAsync(p, stream), "setOptimizationProfileAsync(" + p + ")");
        profile = p;
    }

    /** Sets an input's shape (when {@code dims} is not null) and binds a tensor to device memory. */
    void bind(String name, long[] dims, Pointer at) {
        Cuda.check((dims == null || context.setInputShape(name, Cuda.dims(dims))) && context.setTensorAddress(name, at), "binding " + name);
    }

    /** Copies {@code values} to {@code device} through the host buffer at element {@code hostIndex}. */
    void upload(Pointer device, long hostIndex, long[] values) {
        new LongPointer(host).capacity(hostIndex + values.length).position(hostIndex).put(values);
        Cuda.check(cudaMemcpyAsync(device, Cuda.at(host, hostIndex * Long.BYTES), (long) values.length * Long.BYTES, cudaMemcpyHostToDevice, stream),
                "host-to-device copy");
    }

    /** Enqueues the engine, then returns {@code [rows][cols]} floats read from {@code device} through the host buffer. */
    float[][] run(String what, Pointer device, int rows, int cols) {
        Cuda.check(context.enqueueV3(stream), "enqueueV3 (" + what + ", profile " + profile + ")");
        Cuda.check(cudaMemcpyAsync(host, device, (long) rows * cols * Float.BYTES, cudaMemcpyDeviceToHost, stream), "copying logits");
        Cuda.check(cudaStreamSynchronize(stream), what);
        FloatPointer f = new FloatPointer(host).capacity((long) rows * cols);
        float[][] out = new float[rows][cols];
        for (int r = 0; r < rows; r++) f.position((long) r * cols).get(out[r]);
        return out;
    }

    @Override
    public void close() {
        cudaStreamSynchronize(stream);
        context.close();
        engine.close();
        cudaFreeHost(host);
        cudaStreamDestroy(stream);
    }
}
