"""The kernel half of the witness protocol.

These modules run in the student's kernel, shipped there as source by grader.kernel.ship
(the grader package itself is not visible in the sandbox) and imported as the package
`_grader_kernel`; the host imports the same modules as `grader.kernel.*` and unit-tests
them on plain dict namespaces. Nothing here is secret: it holds no test and no expected
value, and the student may read or break it; breaking it only makes the kernel a worse
witness of the student's own work. Every graded result of training is computed on the
trusted side from what the ops export (DESIGN §6).

  protocol        op names, error kinds, caps, BootConfig, fingerprint, weights_digest
  codec           values <-> plain JSON (arrays as .npy, allow_pickle=False)
  server          the op registry, dispatch(ns, request) -> reply, handle (entry point)
  keras_ops       model, history, fit_for, export_model, read_file, integrity
  recorder        the trace list and the helpers that make values plain
  keras_describe  models, layers, optimizers, compile settings, callbacks as plain data
  keras_trace     compile/fit/evaluate/predict/to_categorical tracers, the epoch cap
  wrappers        our wrappers, where they are installed, which were replaced
  imports         post-import hooks (nothing imports TensorFlow or Keras itself)
  datasets        load_data shims serving the grader's copy of the data
  colab           %tensorflow_version, google.colab stand-ins
  gpu             TensorFlow's memory limit on a GPU slot, set and made final at boot
  boot            install(config): all of the above, and the entry module `_grader_witness`

Trace events (dicts; every one has "event" and "t", a Unix time stamp). A "fp" is
protocol.fingerprint of an array ({"digest", "rows", "row_size", "max", "onehot"}, or
None for what is not a numeric array); a "digest" of weights is protocol.weights_digest
(None while the model is not built); a "qualname" is type(obj).__module__ + "." +
type(obj).__qualname__, beside the short "class".
  load_data       dataset, train, test                     (the data set shim served it)
  compile         model (Keras name), model_uid (matches nb.model()["uid"]), model_class,
                  optimizer {"class", "config": get_config()}, optimizer_arg (a string
                  as passed, e.g. 'sgd', or the class name), loss (as passed: string,
                  function __name__ or Loss class name), loss_key (snake_case of it),
                  metrics (names as passed), weights_digest (of the model at compile
                  time: weights that came from elsewhere before the first fit)
  fit             model, model_uid, model_class, layers [{"class", "qualname", "config"}],
                  params, epochs_asked, epochs_capped_to (== epochs_asked when the
                  profile does not cap), initial_epoch, batch_size (None = Keras' default
                  32), validation_split, validation_data (bool), validation ({"x", "y"}
                  data summaries or None), shuffle, verbose, x, y (data summaries: type,
                  shape, dtype, min, max), x_fp, y_fp, validation_fp ({"x": fp, "y": fp}
                  for validation_data=(x, y), else None), compile_at_fit (the compile
                  settings in force when fit started: optimizer {"class", "config"},
                  optimizer_arg, loss, loss_key, metrics; None if never compiled),
                  weights_digest_start, weights_digest_end (at fit start / when fit
                  returned or raised), callbacks [{"class", "qualname", "config":
                  {monitor, mode, patience, min_delta, baseline, restore_best_weights,
                  start_from_epoch, filepath, filepath_abs, save_best_only,
                  save_weights_only, save_freq, factor, min_lr, cooldown, verbose: those
                  the callback has}, "after": {stopped_epoch, best, best_epoch, wait:
                  after fit}}], epochs_run (counted per epoch, so also right when a time
                  limit stops fit), stopped_early (epochs_run < the epochs allowed),
                  finished (fit returned), error (when it raised), seconds, history_keys,
                  final (the last epoch's value of each history key)
  evaluate        model, model_uid, x, y, x_fp, y_fp, result, calls (consecutive alike
                  calls merge); fit's own validation passes are not recorded
  predict         model, model_uid, x (no min/max), output_shape, calls
  to_categorical  via (the module whose attribute was called: keras.utils,
                  tensorflow.keras.utils, ...), caller (the calling module's __name__,
                  '__main__' for notebook code), num_classes, x, calls
  profile         action: 'dataset shim installed' (module) | 'keras traced'
                  (max_epochs) | 'epoch cap' (model, asked, capped_to, profile)
  colab           action: 'tensorflow_version ignored' (argument) | 'drive.mount refused'
                  | 'files.upload refused' | 'files.download refused' | ...
  gpu             action: 'memory capped' (memory_mb, devices) | 'no GPU visible' |
                  'tensorflow not importable' | 'cap failed' (error)   (GPU slots only)
  bootstrap_error where/module, error     (a hook failed; the run goes on)
"""
