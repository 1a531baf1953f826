{#- Each summary copy's learning-curve points: every statistic of its curves
    at the epochs of its grid (butter_epoch_grid), computed in the decode
    store's one pass over the copy's arrays (butter_copies_unioned) and kept
    in one column, `learning_curve`. marts.experiment_learning_curves
    publishes the points of the copy each experiment is read from
    (int_experiment_curve_points), so a build that decodes no file reads no
    summary array there; its unit test feeds these macros its curves. In
    three steps, because the grid follows the curve's length and best epoch,
    and the points follow the grid: -#}


{#- The summary statistics a learning curve publishes, per metric (test and
    train loss and accuracy): dicts with `metric`, `column` (the array, e.g.
    `test_loss_median`) and `statistic` (`median`, `num_finite`, ...). -#}
{% macro butter_learning_curve_statistics() -%}
    {%- set statistics = [] -%}
    {%- for metric in ['test_loss', 'train_loss', 'test_accuracy', 'train_accuracy'] -%}
        {%- for column in butter_summary_statistics() if column.startswith(metric ~ '_') -%}
            {%- do statistics.append({'metric': metric, 'column': column, 'statistic': column[metric | length + 1:]}) -%}
        {%- endfor -%}
    {%- endfor -%}
    {{- return(statistics) -}}
{%- endmacro %}


{#- The columns the three steps read or add but `learning_curve` itself: each
    statistic's array, `learning_curve_num_epochs` and `learning_curve_grid`
    (the store keeps none of them: butter_copies_unioned leaves them out). -#}
{% macro butter_learning_curve_inputs() -%}
    {{- return(butter_learning_curve_statistics() | map(attribute='column') | list
        + ['learning_curve_num_epochs', 'learning_curve_grid']) -}}
{%- endmacro %}


{#- 1. Over a row holding the statistics' arrays: the curve's length, the
    longest of them (`learning_curve_num_epochs`, 0 when all are NULL). A
    select list. -#}
{% macro butter_learning_curve_length() -%}
    greatest(
        {%- for stat in butter_learning_curve_statistics() %}
        coalesce({{ butter_array_length(stat.column) }}, 0){{ ',' if not loop.last }}
        {%- endfor %}
    ) as learning_curve_num_epochs
{%- endmacro %}


{#- 2. Over a row holding step 1's column, `test_loss_median` and its best
    finite value (`median_curve_best_test_loss`, butter_median_curve_values):
    the epochs to publish (`learning_curve_grid`, butter_epoch_grid of at most
    max_points epochs, the median test-loss curve's best epoch among them). A
    select list. -#}
{% macro butter_learning_curve_grid(max_points) -%}
    {{ butter_epoch_grid(
        'learning_curve_num_epochs',
        butter_list_position('test_loss_median', 'median_curve_best_test_loss'),
        max_points
    ) }} as learning_curve_grid
{%- endmacro %}


{#- 3. Over a row holding the arrays, steps 1 and 2's columns and
    `median_curve_best_test_loss_epoch` (butter_median_curve_epochs): the
    copy's points in one column, `learning_curve`, a struct of `num_epochs`,
    `best_epoch` (of the median test-loss curve), `grid` and each statistic
    at the grid's epochs (a list as long as the grid; a non-finite value is
    NULL, but for the counts `*_num_finite`). A select list. -#}
{% macro butter_learning_curve_points() -%}
    {%- set fields = [
        ['num_epochs', 'learning_curve_num_epochs'],
        ['best_epoch', 'median_curve_best_test_loss_epoch'],
        ['grid', 'learning_curve_grid'],
    ] -%}
    {%- for stat in butter_learning_curve_statistics() -%}
        {%- do fields.append([stat.column, butter_list_at_positions(
            stat.column, 'learning_curve_grid', finite_only=stat.statistic != 'num_finite')]) -%}
    {%- endfor -%}
    {{ butter_struct(fields) }} as learning_curve
{%- endmacro %}
