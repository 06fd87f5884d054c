;; Pillow-exact resampling passes in WebAssembly SIMD (fixed-point, as libImaging/Resample.c).
;;
;; Both passes compute exactly Pillow's int32 sums: HALF + sum(pixel * coefficient), then an
;; arithmetic shift by 22 and a clamp to 0..255. Lanes only change which sums run side by side:
;; the horizontal pass keeps one pixel's R, G, B (and an ignored 4th byte) in the four i32 lanes;
;; the vertical pass runs 16 consecutive bytes of a row at once. i32 arithmetic wraps like the
;; C code's does, and every final sum fits in int32 (|sum| < 2^31 for every filter), so the
;; results are bit-identical to Pillow and to the JavaScript passes in resample.ts.
;;
;; The clamp is two saturating narrows: the shifted sum lies in -512..511, which i32->u16
;; saturation maps to 0..511 and i16->u8 saturation then to 0..255.
;;
;; Memory layout is the caller's (resample-wasm.ts): every buffer is padded by 16 bytes, because
;; the last pixel's 4-byte load and a row's final 16-byte store reach past their data.
(module
  (memory (export "memory") 1)

  ;; rows x outW output pixels; pixel xx of row y sums count[xx] taps from input pixel first[xx].
  (func (export "horizontal")
    (param $src i32) (param $stride i32) (param $rows i32) (param $outW i32)
    (param $first i32) (param $count i32) (param $coeffs i32) (param $ksize i32) (param $dst i32)
    (local $y i32) (local $xx i32) (local $row i32) (local $p i32) (local $k i32) (local $kend i32)
    (local $o i32) (local $acc v128)
    (local.set $row (local.get $src))
    (local.set $o (local.get $dst))
    (block $rows_done
      (loop $rows_loop
        (br_if $rows_done (i32.ge_u (local.get $y) (local.get $rows)))
        (local.set $xx (i32.const 0))
        (block $x_done
          (loop $x_loop
            (br_if $x_done (i32.ge_u (local.get $xx) (local.get $outW)))
            (local.set $p
              (i32.add (local.get $row)
                (i32.mul (i32.load (i32.add (local.get $first) (i32.shl (local.get $xx) (i32.const 2))))
                  (i32.const 3))))
            (local.set $k
              (i32.add (local.get $coeffs)
                (i32.shl (i32.mul (local.get $xx) (local.get $ksize)) (i32.const 2))))
            (local.set $kend
              (i32.add (local.get $k)
                (i32.shl (i32.load (i32.add (local.get $count) (i32.shl (local.get $xx) (i32.const 2))))
                  (i32.const 2))))
            (local.set $acc (i32x4.splat (i32.const 0x200000)))
            ;; Two taps per turn, then the odd one.
            (block $pairs_done
              (loop $pairs
                (br_if $pairs_done (i32.gt_u (i32.add (local.get $k) (i32.const 8)) (local.get $kend)))
                (local.set $acc
                  (i32x4.add
                    (i32x4.add (local.get $acc)
                      (i32x4.mul
                        (i32x4.extend_low_i16x8_u (i16x8.extend_low_i8x16_u (v128.load32_zero align=1 (local.get $p))))
                        (v128.load32_splat align=4 (local.get $k))))
                    (i32x4.mul
                      (i32x4.extend_low_i16x8_u
                        (i16x8.extend_low_i8x16_u (v128.load32_zero align=1 (i32.add (local.get $p) (i32.const 3)))))
                      (v128.load32_splat align=4 (i32.add (local.get $k) (i32.const 4))))))
                (local.set $p (i32.add (local.get $p) (i32.const 6)))
                (local.set $k (i32.add (local.get $k) (i32.const 8)))
                (br $pairs)))
            (if (i32.lt_u (local.get $k) (local.get $kend))
              (then
                (local.set $acc
                  (i32x4.add (local.get $acc)
                    (i32x4.mul
                      (i32x4.extend_low_i16x8_u (i16x8.extend_low_i8x16_u (v128.load32_zero align=1 (local.get $p))))
                      (v128.load32_splat align=4 (local.get $k)))))))
            ;; 4 bytes stored, 3 kept: the next pixel's store overwrites the 4th.
            (local.set $acc (i32x4.shr_s (local.get $acc) (i32.const 22)))
            (local.set $acc (i16x8.narrow_i32x4_u (local.get $acc) (local.get $acc)))
            (i32.store align=1 (local.get $o)
              (i32x4.extract_lane 0 (i8x16.narrow_i16x8_u (local.get $acc) (local.get $acc))))
            (local.set $o (i32.add (local.get $o) (i32.const 3)))
            (local.set $xx (i32.add (local.get $xx) (i32.const 1)))
            (br $x_loop)))
        (local.set $row (i32.add (local.get $row) (local.get $stride)))
        (local.set $y (i32.add (local.get $y) (i32.const 1)))
        (br $rows_loop))))

  ;; outH output rows of rowLen bytes; row yy sums count[yy] input rows from first[yy] - rowOffset.
  (func (export "vertical")
    (param $src i32) (param $rowLen i32) (param $outH i32) (param $first i32) (param $count i32)
    (param $coeffs i32) (param $ksize i32) (param $rowOffset i32) (param $dst i32)
    (local $yy i32) (local $i i32) (local $base i32) (local $p i32) (local $k i32) (local $kbase i32)
    (local $kend i32) (local $v v128) (local $lo v128) (local $hi v128) (local $kv v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (block $rows_done
      (loop $rows_loop
        (br_if $rows_done (i32.ge_u (local.get $yy) (local.get $outH)))
        (local.set $base
          (i32.add (local.get $src)
            (i32.mul
              (i32.sub (i32.load (i32.add (local.get $first) (i32.shl (local.get $yy) (i32.const 2))))
                (local.get $rowOffset))
              (local.get $rowLen))))
        (local.set $kbase
          (i32.add (local.get $coeffs) (i32.shl (i32.mul (local.get $yy) (local.get $ksize)) (i32.const 2))))
        (local.set $kend
          (i32.add (local.get $kbase)
            (i32.shl (i32.load (i32.add (local.get $count) (i32.shl (local.get $yy) (i32.const 2))))
              (i32.const 2))))
        (local.set $i (i32.const 0))
        (block $cols_done
          (loop $cols
            (br_if $cols_done (i32.ge_u (local.get $i) (local.get $rowLen)))
            (local.set $a0 (i32x4.splat (i32.const 0x200000)))
            (local.set $a1 (local.get $a0))
            (local.set $a2 (local.get $a0))
            (local.set $a3 (local.get $a0))
            (local.set $p (i32.add (local.get $base) (local.get $i)))
            (local.set $k (local.get $kbase))
            (block $taps_done
              (loop $taps
                (br_if $taps_done (i32.ge_u (local.get $k) (local.get $kend)))
                (local.set $v (v128.load align=1 (local.get $p)))
                (local.set $kv (v128.load32_splat align=4 (local.get $k)))
                (local.set $lo (i16x8.extend_low_i8x16_u (local.get $v)))
                (local.set $hi (i16x8.extend_high_i8x16_u (local.get $v)))
                (local.set $a0 (i32x4.add (local.get $a0) (i32x4.mul (i32x4.extend_low_i16x8_u (local.get $lo)) (local.get $kv))))
                (local.set $a1 (i32x4.add (local.get $a1) (i32x4.mul (i32x4.extend_high_i16x8_u (local.get $lo)) (local.get $kv))))
                (local.set $a2 (i32x4.add (local.get $a2) (i32x4.mul (i32x4.extend_low_i16x8_u (local.get $hi)) (local.get $kv))))
                (local.set $a3 (i32x4.add (local.get $a3) (i32x4.mul (i32x4.extend_high_i16x8_u (local.get $hi)) (local.get $kv))))
                (local.set $p (i32.add (local.get $p) (local.get $rowLen)))
                (local.set $k (i32.add (local.get $k) (i32.const 4)))
                (br $taps)))
            (v128.store align=1
              (i32.add (local.get $dst) (i32.add (i32.mul (local.get $yy) (local.get $rowLen)) (local.get $i)))
              (i8x16.narrow_i16x8_u
                (i16x8.narrow_i32x4_u (i32x4.shr_s (local.get $a0) (i32.const 22)) (i32x4.shr_s (local.get $a1) (i32.const 22)))
                (i16x8.narrow_i32x4_u (i32x4.shr_s (local.get $a2) (i32.const 22)) (i32x4.shr_s (local.get $a3) (i32.const 22)))))
            (local.set $i (i32.add (local.get $i) (i32.const 16)))
            (br $cols)))
        (local.set $yy (i32.add (local.get $yy) (i32.const 1)))
        (br $rows_loop))))
)
