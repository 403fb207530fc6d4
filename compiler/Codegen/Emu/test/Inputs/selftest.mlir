// Hand-written NVVM kernels for the emulator self-test (EmuSelfTest_test.cpp): compiled
// through the cuda-emu path (compiler/Codegen/Emu), run on the emulated driver, checked
// against references computed on the host. Each exercises what a wrong emulator would
// get wrong: ordering at barriers, shuffle lane arithmetic, ballots, the mma.sync and
// ldmatrix fragment layouts, cp.async staging, static + dynamic shared memory layout.

llvm.mlir.global internal @flag() {addr_space = 3 : i32, alignment = 4 : i64} : !llvm.array<4 x i32>
llvm.mlir.global external @dynamic() {addr_space = 3 : i32, alignment = 16 : i64} : !llvm.array<0 x i8>

// out[t] = dynamic[(t + 1) % n] + 1000 * flag[0], where every thread wrote
// dynamic[t] = 3t and thread 0 wrote flag[0] = 7, all before one barrier.
llvm.func @barrier_rotate(%out: !llvm.ptr<1>) attributes {nvvm.kernel} {
  %t = nvvm.read.ptx.sreg.tid.x : i32
  %n = nvvm.read.ptx.sreg.ntid.x : i32
  %zero = llvm.mlir.constant(0 : i32) : i32
  %one = llvm.mlir.constant(1 : i32) : i32
  %three = llvm.mlir.constant(3 : i32) : i32
  %seven = llvm.mlir.constant(7 : i32) : i32
  %thousand = llvm.mlir.constant(1000 : i32) : i32
  %dyn = llvm.mlir.addressof @dynamic : !llvm.ptr<3>
  %flag = llvm.mlir.addressof @flag : !llvm.ptr<3>
  %v = llvm.mul %t, %three : i32
  %mine = llvm.getelementptr %dyn[%t] : (!llvm.ptr<3>, i32) -> !llvm.ptr<3>, i32
  llvm.store %v, %mine : i32, !llvm.ptr<3>
  %first = llvm.icmp "eq" %t, %zero : i32
  llvm.cond_br %first, ^set, ^sync
^set:
  llvm.store %seven, %flag : i32, !llvm.ptr<3>
  llvm.br ^sync
^sync:
  nvvm.barrier0
  %next = llvm.add %t, %one : i32
  %wrapped = llvm.urem %next, %n : i32
  %theirs = llvm.getelementptr %dyn[%wrapped] : (!llvm.ptr<3>, i32) -> !llvm.ptr<3>, i32
  %x = llvm.load %theirs : !llvm.ptr<3> -> i32
  %f = llvm.load %flag : !llvm.ptr<3> -> i32
  %fk = llvm.mul %f, %thousand : i32
  %sum = llvm.add %x, %fk : i32
  %dst = llvm.getelementptr %out[%t] : (!llvm.ptr<1>, i32) -> !llvm.ptr<1>, i32
  llvm.store %sum, %dst : i32, !llvm.ptr<1>
  llvm.return
}

// Seven rows of n words: bfly 5, idx 9, down 3 (f32 value, then its valid bit), up 2 at
// width 8 (value, valid), ballot of lane % 3 == 0. The value of thread t is 10t + 7.
llvm.func @shuffles(%out: !llvm.ptr<1>) attributes {nvvm.kernel} {
  %t = nvvm.read.ptx.sreg.tid.x : i32
  %n = nvvm.read.ptx.sreg.ntid.x : i32
  %lane = nvvm.read.ptx.sreg.laneid : i32
  %mask = llvm.mlir.constant(-1 : i32) : i32
  %c2 = llvm.mlir.constant(2 : i32) : i32
  %c3 = llvm.mlir.constant(3 : i32) : i32
  %c5 = llvm.mlir.constant(5 : i32) : i32
  %c7 = llvm.mlir.constant(7 : i32) : i32
  %c9 = llvm.mlir.constant(9 : i32) : i32
  %c10 = llvm.mlir.constant(10 : i32) : i32
  %c31 = llvm.mlir.constant(31 : i32) : i32
  %width8 = llvm.mlir.constant(6144 : i32) : i32
  %zero = llvm.mlir.constant(0 : i32) : i32
  %t10 = llvm.mul %t, %c10 : i32
  %v = llvm.add %t10, %c7 : i32
  %vf = llvm.sitofp %v : i32 to f32
  %bfly = nvvm.shfl.sync bfly %mask, %v, %c5, %c31 : i32 -> i32
  %idx = nvvm.shfl.sync idx %mask, %v, %c9, %c31 : i32 -> i32
  %down = nvvm.shfl.sync down %mask, %vf, %c3, %c31 {return_value_and_is_valid} : f32 -> !llvm.struct<(f32, i1)>
  %up = nvvm.shfl.sync up %mask, %v, %c2, %width8 {return_value_and_is_valid} : i32 -> !llvm.struct<(i32, i1)>
  %lane3 = llvm.urem %lane, %c3 : i32
  %pred = llvm.icmp "eq" %lane3, %zero : i32
  %ballot = nvvm.vote.sync ballot %mask, %pred -> i32
  %downValue = llvm.extractvalue %down[0] : !llvm.struct<(f32, i1)>
  %downInt = llvm.fptosi %downValue : f32 to i32
  %downValid = llvm.extractvalue %down[1] : !llvm.struct<(f32, i1)>
  %downValid32 = llvm.zext %downValid : i1 to i32
  %upValue = llvm.extractvalue %up[0] : !llvm.struct<(i32, i1)>
  %upValid = llvm.extractvalue %up[1] : !llvm.struct<(i32, i1)>
  %upValid32 = llvm.zext %upValid : i1 to i32
  %row0 = llvm.getelementptr %out[%t] : (!llvm.ptr<1>, i32) -> !llvm.ptr<1>, i32
  llvm.store %bfly, %row0 : i32, !llvm.ptr<1>
  %row1 = llvm.getelementptr %row0[%n] : (!llvm.ptr<1>, i32) -> !llvm.ptr<1>, i32
  llvm.store %idx, %row1 : i32, !llvm.ptr<1>
  %row2 = llvm.getelementptr %row1[%n] : (!llvm.ptr<1>, i32) -> !llvm.ptr<1>, i32
  llvm.store %downInt, %row2 : i32, !llvm.ptr<1>
  %row3 = llvm.getelementptr %row2[%n] : (!llvm.ptr<1>, i32) -> !llvm.ptr<1>, i32
  llvm.store %downValid32, %row3 : i32, !llvm.ptr<1>
  %row4 = llvm.getelementptr %row3[%n] : (!llvm.ptr<1>, i32) -> !llvm.ptr<1>, i32
  llvm.store %upValue, %row4 : i32, !llvm.ptr<1>
  %row5 = llvm.getelementptr %row4[%n] : (!llvm.ptr<1>, i32) -> !llvm.ptr<1>, i32
  llvm.store %upValid32, %row5 : i32, !llvm.ptr<1>
  %row6 = llvm.getelementptr %row5[%n] : (!llvm.ptr<1>, i32) -> !llvm.ptr<1>, i32
  llvm.store %ballot, %row6 : i32, !llvm.ptr<1>
  llvm.return
}

llvm.mlir.global internal @tileA() {addr_space = 3 : i32, alignment = 16 : i64} : !llvm.array<256 x i16>
llvm.mlir.global internal @tileBt() {addr_space = 3 : i32, alignment = 16 : i64} : !llvm.array<128 x i16>
llvm.mlir.global internal @tileB() {addr_space = 3 : i32, alignment = 16 : i64} : !llvm.array<128 x i16>

// One warp: D (16x8 f32) = A (16x16 bf16, row major) x B (16x8 bf16) + C, the tiles staged
// into shared memory with 16-byte cp.async (lane l copies A's chunk l; lanes 0-15 copy Bt's
// (B column major) chunks, lanes 16-31 B's), then A read with ldmatrix.x4 and B with
// ldmatrix.x2 from Bt or, when %transposed is 1, ldmatrix.x2.trans from B.
llvm.func @mma_bf16(%a: !llvm.ptr<1>, %bt: !llvm.ptr<1>, %b: !llvm.ptr<1>, %c: !llvm.ptr<1>, %d: !llvm.ptr<1>, %transposed: i64) attributes {nvvm.kernel} {
  %l = nvvm.read.ptx.sreg.laneid : i32
  %c1 = llvm.mlir.constant(1 : i32) : i32
  %c2 = llvm.mlir.constant(2 : i32) : i32
  %c4 = llvm.mlir.constant(4 : i32) : i32
  %c8 = llvm.mlir.constant(8 : i32) : i32
  %c16 = llvm.mlir.constant(16 : i32) : i32
  %sA = llvm.mlir.addressof @tileA : !llvm.ptr<3>
  %sBt = llvm.mlir.addressof @tileBt : !llvm.ptr<3>
  %sB = llvm.mlir.addressof @tileB : !llvm.ptr<3>
  // staging
  %aChunk = llvm.mul %l, %c16 : i32
  %aSrc = llvm.getelementptr %a[%aChunk] : (!llvm.ptr<1>, i32) -> !llvm.ptr<1>, i8
  %aDst = llvm.getelementptr %sA[%aChunk] : (!llvm.ptr<3>, i32) -> !llvm.ptr<3>, i8
  nvvm.cp.async.shared.global %aDst, %aSrc, 16, cache = cg : !llvm.ptr<3>, !llvm.ptr<1>
  %low = llvm.icmp "ult" %l, %c16 : i32
  %l16 = llvm.urem %l, %c16 : i32
  %bChunk = llvm.mul %l16, %c16 : i32
  %btSrc = llvm.getelementptr %bt[%bChunk] : (!llvm.ptr<1>, i32) -> !llvm.ptr<1>, i8
  %bSrc = llvm.getelementptr %b[%bChunk] : (!llvm.ptr<1>, i32) -> !llvm.ptr<1>, i8
  %btDst = llvm.getelementptr %sBt[%bChunk] : (!llvm.ptr<3>, i32) -> !llvm.ptr<3>, i8
  %bDst = llvm.getelementptr %sB[%bChunk] : (!llvm.ptr<3>, i32) -> !llvm.ptr<3>, i8
  %src = llvm.select %low, %btSrc, %bSrc : i1, !llvm.ptr<1>
  %dst = llvm.select %low, %btDst, %bDst : i1, !llvm.ptr<3>
  nvvm.cp.async.shared.global %dst, %src, 16, cache = ca : !llvm.ptr<3>, !llvm.ptr<1>
  nvvm.cp.async.commit.group
  nvvm.cp.async.wait.group 0
  nvvm.barrier0
  // A: lane l gives row l % 16, column 8 * (l / 16)
  %aRow = llvm.mul %l16, %c16 : i32
  %lDiv16 = llvm.udiv %l, %c16 : i32
  %aCol = llvm.mul %lDiv16, %c8 : i32
  %aIndex = llvm.add %aRow, %aCol : i32
  %aPtr = llvm.getelementptr %sA[%aIndex] : (!llvm.ptr<3>, i32) -> !llvm.ptr<3>, i16
  %af = nvvm.ldmatrix %aPtr {num = 4 : i32, layout = #nvvm.mma_layout<row>, shape = #nvvm.ld_st_matrix_shape<m = 8, n = 8>, eltType = #nvvm.ld_st_matrix_elt_type<b16>} : (!llvm.ptr<3>) -> !llvm.struct<(i32, i32, i32, i32)>
  // Bt: lane l gives row l % 8, column 8 * (l / 8 % 2)
  %l8 = llvm.urem %l, %c8 : i32
  %btRow = llvm.mul %l8, %c16 : i32
  %lDiv8 = llvm.udiv %l, %c8 : i32
  %lDiv8m2 = llvm.urem %lDiv8, %c2 : i32
  %btCol = llvm.mul %lDiv8m2, %c8 : i32
  %btIndex = llvm.add %btRow, %btCol : i32
  %btPtr = llvm.getelementptr %sBt[%btIndex] : (!llvm.ptr<3>, i32) -> !llvm.ptr<3>, i16
  %bfn = nvvm.ldmatrix %btPtr {num = 2 : i32, layout = #nvvm.mma_layout<row>, shape = #nvvm.ld_st_matrix_shape<m = 8, n = 8>, eltType = #nvvm.ld_st_matrix_elt_type<b16>} : (!llvm.ptr<3>) -> !llvm.struct<(i32, i32)>
  // B transposed: lane l gives row l % 16
  %bRow = llvm.mul %l16, %c8 : i32
  %bPtr = llvm.getelementptr %sB[%bRow] : (!llvm.ptr<3>, i32) -> !llvm.ptr<3>, i16
  %bft = nvvm.ldmatrix %bPtr {num = 2 : i32, layout = #nvvm.mma_layout<col>, shape = #nvvm.ld_st_matrix_shape<m = 8, n = 8>, eltType = #nvvm.ld_st_matrix_elt_type<b16>} : (!llvm.ptr<3>) -> !llvm.struct<(i32, i32)>
  %zero64 = llvm.mlir.constant(0 : i64) : i64
  %useTrans = llvm.icmp "ne" %transposed, %zero64 : i64
  %bf = llvm.select %useTrans, %bft, %bfn : i1, !llvm.struct<(i32, i32)>
  %a0 = llvm.extractvalue %af[0] : !llvm.struct<(i32, i32, i32, i32)>
  %a1 = llvm.extractvalue %af[1] : !llvm.struct<(i32, i32, i32, i32)>
  %a2 = llvm.extractvalue %af[2] : !llvm.struct<(i32, i32, i32, i32)>
  %a3 = llvm.extractvalue %af[3] : !llvm.struct<(i32, i32, i32, i32)>
  %b0 = llvm.extractvalue %bf[0] : !llvm.struct<(i32, i32)>
  %b1 = llvm.extractvalue %bf[1] : !llvm.struct<(i32, i32)>
  // C/D: c_i at row g + 8 (i / 2), column 2t + i % 2
  %g = llvm.udiv %l, %c4 : i32
  %t = llvm.urem %l, %c4 : i32
  %g8 = llvm.mul %g, %c8 : i32
  %t2 = llvm.mul %t, %c2 : i32
  %i0 = llvm.add %g8, %t2 : i32
  %i1 = llvm.add %i0, %c1 : i32
  %c64 = llvm.mlir.constant(64 : i32) : i32
  %i2 = llvm.add %i0, %c64 : i32
  %i3 = llvm.add %i1, %c64 : i32
  %p0 = llvm.getelementptr %c[%i0] : (!llvm.ptr<1>, i32) -> !llvm.ptr<1>, f32
  %p1 = llvm.getelementptr %c[%i1] : (!llvm.ptr<1>, i32) -> !llvm.ptr<1>, f32
  %p2 = llvm.getelementptr %c[%i2] : (!llvm.ptr<1>, i32) -> !llvm.ptr<1>, f32
  %p3 = llvm.getelementptr %c[%i3] : (!llvm.ptr<1>, i32) -> !llvm.ptr<1>, f32
  %cv0 = llvm.load %p0 : !llvm.ptr<1> -> f32
  %cv1 = llvm.load %p1 : !llvm.ptr<1> -> f32
  %cv2 = llvm.load %p2 : !llvm.ptr<1> -> f32
  %cv3 = llvm.load %p3 : !llvm.ptr<1> -> f32
  %acc = nvvm.mma.sync A[%a0, %a1, %a2, %a3] B[%b0, %b1] C[%cv0, %cv1, %cv2, %cv3]
    {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>,
     multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = #nvvm.mma_type<bf16>,
     shape = #nvvm.shape<m = 16, n = 8, k = 16>} : (i32, i32, f32) -> !llvm.struct<(f32, f32, f32, f32)>
  %d0 = llvm.extractvalue %acc[0] : !llvm.struct<(f32, f32, f32, f32)>
  %d1 = llvm.extractvalue %acc[1] : !llvm.struct<(f32, f32, f32, f32)>
  %d2 = llvm.extractvalue %acc[2] : !llvm.struct<(f32, f32, f32, f32)>
  %d3 = llvm.extractvalue %acc[3] : !llvm.struct<(f32, f32, f32, f32)>
  %q0 = llvm.getelementptr %d[%i0] : (!llvm.ptr<1>, i32) -> !llvm.ptr<1>, f32
  %q1 = llvm.getelementptr %d[%i1] : (!llvm.ptr<1>, i32) -> !llvm.ptr<1>, f32
  %q2 = llvm.getelementptr %d[%i2] : (!llvm.ptr<1>, i32) -> !llvm.ptr<1>, f32
  %q3 = llvm.getelementptr %d[%i3] : (!llvm.ptr<1>, i32) -> !llvm.ptr<1>, f32
  llvm.store %d0, %q0 : f32, !llvm.ptr<1>
  llvm.store %d1, %q1 : f32, !llvm.ptr<1>
  llvm.store %d2, %q2 : f32, !llvm.ptr<1>
  llvm.store %d3, %q3 : f32, !llvm.ptr<1>
  llvm.return
}

// One warp: D (16x8) = A (16x8 f32, row major) x B (8x8 f32, row major) + C in tf32,
// fragments straight from global memory in the PTX ISA's m16n8k8 .tf32 layout:
// a0 (g, t), a1 (g+8, t), a2 (g, t+4), a3 (g+8, t+4); b0 (t, g), b1 (t+4, g).
llvm.func @mma_tf32(%a: !llvm.ptr<1>, %b: !llvm.ptr<1>, %c: !llvm.ptr<1>, %d: !llvm.ptr<1>) attributes {nvvm.kernel} {
  %l = nvvm.read.ptx.sreg.laneid : i32
  %c1 = llvm.mlir.constant(1 : i32) : i32
  %c2 = llvm.mlir.constant(2 : i32) : i32
  %c4 = llvm.mlir.constant(4 : i32) : i32
  %c8 = llvm.mlir.constant(8 : i32) : i32
  %c32 = llvm.mlir.constant(32 : i32) : i32
  %c64 = llvm.mlir.constant(64 : i32) : i32
  %g = llvm.udiv %l, %c4 : i32
  %t = llvm.urem %l, %c4 : i32
  %g8 = llvm.mul %g, %c8 : i32
  %ia0 = llvm.add %g8, %t : i32
  %ia1 = llvm.add %ia0, %c64 : i32
  %ia2 = llvm.add %ia0, %c4 : i32
  %ia3 = llvm.add %ia1, %c4 : i32
  %t8 = llvm.mul %t, %c8 : i32
  %ib0 = llvm.add %t8, %g : i32
  %ib1 = llvm.add %ib0, %c32 : i32
  %pa0 = llvm.getelementptr %a[%ia0] : (!llvm.ptr<1>, i32) -> !llvm.ptr<1>, i32
  %pa1 = llvm.getelementptr %a[%ia1] : (!llvm.ptr<1>, i32) -> !llvm.ptr<1>, i32
  %pa2 = llvm.getelementptr %a[%ia2] : (!llvm.ptr<1>, i32) -> !llvm.ptr<1>, i32
  %pa3 = llvm.getelementptr %a[%ia3] : (!llvm.ptr<1>, i32) -> !llvm.ptr<1>, i32
  %pb0 = llvm.getelementptr %b[%ib0] : (!llvm.ptr<1>, i32) -> !llvm.ptr<1>, i32
  %pb1 = llvm.getelementptr %b[%ib1] : (!llvm.ptr<1>, i32) -> !llvm.ptr<1>, i32
  %a0 = llvm.load %pa0 : !llvm.ptr<1> -> i32
  %a1 = llvm.load %pa1 : !llvm.ptr<1> -> i32
  %a2 = llvm.load %pa2 : !llvm.ptr<1> -> i32
  %a3 = llvm.load %pa3 : !llvm.ptr<1> -> i32
  %b0 = llvm.load %pb0 : !llvm.ptr<1> -> i32
  %b1 = llvm.load %pb1 : !llvm.ptr<1> -> i32
  %t2 = llvm.mul %t, %c2 : i32
  %i0 = llvm.add %g8, %t2 : i32
  %i1 = llvm.add %i0, %c1 : i32
  %i2 = llvm.add %i0, %c64 : i32
  %i3 = llvm.add %i1, %c64 : i32
  %p0 = llvm.getelementptr %c[%i0] : (!llvm.ptr<1>, i32) -> !llvm.ptr<1>, f32
  %p1 = llvm.getelementptr %c[%i1] : (!llvm.ptr<1>, i32) -> !llvm.ptr<1>, f32
  %p2 = llvm.getelementptr %c[%i2] : (!llvm.ptr<1>, i32) -> !llvm.ptr<1>, f32
  %p3 = llvm.getelementptr %c[%i3] : (!llvm.ptr<1>, i32) -> !llvm.ptr<1>, f32
  %cv0 = llvm.load %p0 : !llvm.ptr<1> -> f32
  %cv1 = llvm.load %p1 : !llvm.ptr<1> -> f32
  %cv2 = llvm.load %p2 : !llvm.ptr<1> -> f32
  %cv3 = llvm.load %p3 : !llvm.ptr<1> -> f32
  %acc = nvvm.mma.sync A[%a0, %a1, %a2, %a3] B[%b0, %b1] C[%cv0, %cv1, %cv2, %cv3]
    {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>,
     multiplicandAPtxType = #nvvm.mma_type<tf32>, multiplicandBPtxType = #nvvm.mma_type<tf32>,
     shape = #nvvm.shape<m = 16, n = 8, k = 8>} : (i32, i32, f32) -> !llvm.struct<(f32, f32, f32, f32)>
  %d0 = llvm.extractvalue %acc[0] : !llvm.struct<(f32, f32, f32, f32)>
  %d1 = llvm.extractvalue %acc[1] : !llvm.struct<(f32, f32, f32, f32)>
  %d2 = llvm.extractvalue %acc[2] : !llvm.struct<(f32, f32, f32, f32)>
  %d3 = llvm.extractvalue %acc[3] : !llvm.struct<(f32, f32, f32, f32)>
  %q0 = llvm.getelementptr %d[%i0] : (!llvm.ptr<1>, i32) -> !llvm.ptr<1>, f32
  %q1 = llvm.getelementptr %d[%i1] : (!llvm.ptr<1>, i32) -> !llvm.ptr<1>, f32
  %q2 = llvm.getelementptr %d[%i2] : (!llvm.ptr<1>, i32) -> !llvm.ptr<1>, f32
  %q3 = llvm.getelementptr %d[%i3] : (!llvm.ptr<1>, i32) -> !llvm.ptr<1>, f32
  llvm.store %d0, %q0 : f32, !llvm.ptr<1>
  llvm.store %d1, %q1 : f32, !llvm.ptr<1>
  llvm.store %d2, %q2 : f32, !llvm.ptr<1>
  llvm.store %d3, %q3 : f32, !llvm.ptr<1>
  llvm.return
}

llvm.mlir.global internal @word() {addr_space = 3 : i32, alignment = 4 : i64} : !llvm.array<1 x i32>

// A missing barrier: thread 0 writes the word the other threads read. The fibers happen to
// run thread 0 first, so every thread would read 1; the emulator must flag the race.
llvm.func @racy(%out: !llvm.ptr<1>) attributes {nvvm.kernel} {
  %t = nvvm.read.ptx.sreg.tid.x : i32
  %zero = llvm.mlir.constant(0 : i32) : i32
  %one = llvm.mlir.constant(1 : i32) : i32
  %word = llvm.mlir.addressof @word : !llvm.ptr<3>
  %first = llvm.icmp "eq" %t, %zero : i32
  llvm.cond_br %first, ^write, ^read
^write:
  llvm.store %one, %word : i32, !llvm.ptr<3>
  llvm.br ^read
^read:
  %x = llvm.load %word : !llvm.ptr<3> -> i32
  %dst = llvm.getelementptr %out[%t] : (!llvm.ptr<1>, i32) -> !llvm.ptr<1>, i32
  llvm.store %x, %dst : i32, !llvm.ptr<1>
  llvm.return
}
