package dev.principia.backend.tensorrt.javacpp;

import dev.principia.backend.BackendException;
import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.tensorrt.nvinfer.Dims64;

import static org.bytedeco.cuda.global.cudart.*;

/** CUDA runtime calls with errors as exceptions, and device addresses as JavaCPP pointers. */
final class Cuda {
    private Cuda() {
    }

    static void check(int status, String what) {
        if (status != cudaSuccess) throw new BackendException(what + " failed: CUDA error " + status + " (" + cudaGetErrorString(status).getString() + ")");
    }

    static void check(boolean ok, String what) {
        if (!ok) throw new BackendException(what + " failed (TensorRT's log says why)");
    }

    /** {@code bytes} of device memory, zeroed on {@code stream}. */
    static Pointer deviceZeroed(long bytes, CUstream_st stream) {
        Pointer p = new Pointer();
        check(cudaMalloc(p, bytes), "cudaMalloc(" + bytes + " bytes)");
        check(cudaMemsetAsync(p, 0, bytes, stream), "cudaMemsetAsync");
        return p;
    }

    /** The address {@code base + offset} (JavaCPP positions count elements, so an absolute address is unambiguous). */
    static Pointer at(Pointer base, long offset) {
        return new Address(base.address() + offset);
    }

    static Dims64 dims(long... d) {
        Dims64 dims = new Dims64();
        dims.nbDims(d.length);
        for (int i = 0; i < d.length; i++) dims.d(i, d[i]);
        return dims;
    }

    private static final class Address extends Pointer {
        Address(long a) { address = a; }
    }
}
