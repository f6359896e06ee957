package dev.principia.model.onnx;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.OutputStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class ProtoMessageTest {
    private static byte[] bytes(int... v) {
        byte[] b = new byte[v.length];
        for (int i = 0; i < v.length; i++) b[i] = (byte) v[i];
        return b;
    }

    @Test
    void encodesScalarsLikeProtoc() {
        assertArrayEquals(bytes(0x08, 0x96, 0x01), new ProtoMessage().varint(1, 150).toByteArray());
        assertArrayEquals(bytes(0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01),
                new ProtoMessage().varint(1, -1).toByteArray());
        assertArrayEquals(bytes(0x15, 0x00, 0x00, 0x80, 0x3f), new ProtoMessage().float32(2, 1f).toByteArray());
        assertArrayEquals(bytes(0x12, 0x07, 't', 'e', 's', 't', 'i', 'n', 'g'), new ProtoMessage().string(2, "testing").toByteArray());
        assertArrayEquals(bytes(0xa0, 0x01, 0x07), new ProtoMessage().varint(20, 7).toByteArray());
    }

    @Test
    void nestsWithLengthPrefixesAndStreamsBlobs() {
        var inner = new ProtoMessage().varint(1, 150);
        var blob = new ProtoMessage.Blob() {
            @Override
            public long length() {
                return 2;
            }

            @Override
            public void writeTo(OutputStream out) throws IOException {
                out.write(new byte[]{9, 8});
            }
        };
        var outer = new ProtoMessage().message(3, inner).blob(9, blob);
        assertArrayEquals(bytes(0x1a, 0x03, 0x08, 0x96, 0x01, 0x4a, 0x02, 9, 8), outer.toByteArray());
        assertEquals(9, outer.size());
    }

    @Test
    void rejectsBlobsThatLieAboutTheirLength() {
        var liar = new ProtoMessage().blob(1, new ProtoMessage.Blob() {
            @Override
            public long length() {
                return 3;
            }

            @Override
            public void writeTo(OutputStream out) throws IOException {
                out.write(1);
            }
        });
        assertThrows(IllegalStateException.class, liar::toByteArray);
    }
}
